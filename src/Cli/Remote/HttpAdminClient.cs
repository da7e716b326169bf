using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using ActorEvents.Actors.Serialization;
using ActorEvents.Actors.Subscriptions;
using ActorEvents.Actors.Supervision;
using ActorEvents.Cli.AdminApi;
using ActorEvents.Cli.Verbs;
using ActorEvents.Messages;

namespace ActorEvents.Cli.Remote;

/// <summary>The admin API answered something the client cannot use (no token, wrong token, not an ActorEvents node).</summary>
/// <param name="message">What went wrong, with the status code.</param>
public sealed class AdminApiException(string message) : Exception(message);

/// <summary>
/// <see cref="IDeadLetterAdmin"/> and <see cref="ISubscriptionsClient"/> over a running node's admin API
/// (<see cref="AdminApiEndpoints"/>): no actor system, no database. A refusal comes back as the same exception a node's
/// client throws; an unreachable node as <see cref="HttpRequestException"/>.
/// </summary>
internal sealed class HttpAdminClient : IDeadLetterAdmin, ISubscriptionsClient, IDisposable
{
    private readonly HttpClient _http;
    private readonly JsonSerializerOptions _json;

    /// <summary>Creates the client.</summary>
    /// <param name="baseAddress">The node's operations endpoint, e.g. <c>http://127.0.0.1:9464/</c>.</param>
    /// <param name="token">The admin token, if the node has one.</param>
    /// <param name="types">The application's registered types (dead letters carry its events).</param>
    /// <param name="timeout">How long one request may take (a replay-all runs every entry before it answers).</param>
    public HttpAdminClient(Uri baseAddress, string? token, MessageTypeRegistry types, TimeSpan timeout)
    {
        _http = new HttpClient { BaseAddress = baseAddress, Timeout = timeout };
        if (!string.IsNullOrEmpty(token))
        {
            _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue(AdminWire.Scheme, token);
        }

        _json = AdminWire.Json(types);
    }

    public Task<IReadOnlyList<DeadLetter>> ListAsync(DeadLetterFilter filter, CancellationToken cancellationToken = default) =>
        SendAsync<IReadOnlyList<DeadLetter>, DeadLetterOperationFailed>(HttpMethod.Get,
            AdminWire.DeadLetters + Query(("handler", filter.Handler), ("eventType", filter.EventType), ("aggregate", filter.AggregateId),
                ("limit", filter.Limit.ToString(CultureInfo.InvariantCulture))), cancellationToken);

    public Task<DeadLetter> InspectAsync(long id, CancellationToken cancellationToken = default) =>
        SendAsync<DeadLetter, DeadLetterOperationFailed>(HttpMethod.Get, $"{AdminWire.DeadLetters}/{id}", cancellationToken);

    public Task<DeadLetterReplayed> ReplayAsync(long id, CancellationToken cancellationToken = default) =>
        SendAsync<DeadLetterReplayed, DeadLetterOperationFailed>(HttpMethod.Post, $"{AdminWire.DeadLetters}/{id}/replay", cancellationToken);

    public Task<DeadLettersReplayed> ReplayAllAsync(string handler, CancellationToken cancellationToken = default) =>
        SendAsync<DeadLettersReplayed, DeadLetterOperationFailed>(HttpMethod.Post, $"{AdminWire.DeadLetters}/replay-all" + Query(("handler", handler)), cancellationToken);

    public Task<DeadLetterSkipped> SkipAsync(long id, CancellationToken cancellationToken = default) =>
        SendAsync<DeadLetterSkipped, DeadLetterOperationFailed>(HttpMethod.Post, $"{AdminWire.DeadLetters}/{id}/skip", cancellationToken);

    public Task<DeadLettersPurged> PurgeAsync(CancellationToken cancellationToken = default) =>
        SendAsync<DeadLettersPurged, DeadLetterOperationFailed>(HttpMethod.Delete, AdminWire.DeadLetters, cancellationToken);

    public Task<IReadOnlyList<SubscriptionStatus>> StatusAsync(string? name = null, CancellationToken cancellationToken = default) =>
        SendAsync<IReadOnlyList<SubscriptionStatus>, SubscriptionOperationFailed>(HttpMethod.Get, AdminWire.Subscriptions + Query(("name", name)), cancellationToken);

    public Task<SubscriptionOperationCompleted> PauseAsync(string name, CancellationToken cancellationToken = default) => OperateAsync(name, "pause", "", cancellationToken);

    public Task<SubscriptionOperationCompleted> ResumeAsync(string name, CancellationToken cancellationToken = default) => OperateAsync(name, "resume", "", cancellationToken);

    public Task<SubscriptionOperationCompleted> ResetAsync(string name, long position = 0, bool rerun = false, CancellationToken cancellationToken = default) =>
        OperateAsync(name, "reset", Query(("to", position.ToString(CultureInfo.InvariantCulture)), ("rerun", rerun ? "true" : "false")), cancellationToken);

    public Task<SubscriptionOperationCompleted> RebuildAsync(string name, CancellationToken cancellationToken = default) => OperateAsync(name, "rebuild", "", cancellationToken);

    public Task<IReadOnlyList<SubscriptionStatus>> WaitUntilCaughtUpAsync(TimeSpan timeout, CancellationToken cancellationToken = default) =>
        SubscriptionCatchUp.WaitAsync(this, timeout, TimeSpan.FromMilliseconds(250), cancellationToken);

    public void Dispose() => _http.Dispose();

    private Task<SubscriptionOperationCompleted> OperateAsync(string name, string operation, string query, CancellationToken cancellationToken) =>
        SendAsync<SubscriptionOperationCompleted, SubscriptionOperationFailed>(HttpMethod.Post,
            $"{AdminWire.Subscriptions}/{Uri.EscapeDataString(name)}/{operation}{query}", cancellationToken);

    private async Task<T> SendAsync<T, TFailure>(HttpMethod method, string path, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, path.TrimStart('/'));
        using var response = await _http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        switch (response.StatusCode)
        {
            case HttpStatusCode.OK:
                return await response.Content.ReadFromJsonAsync<T>(_json, cancellationToken).ConfigureAwait(false)
                    ?? throw new AdminApiException($"{path}: the node answered 200 with no body.");
            case HttpStatusCode.Conflict or HttpStatusCode.NotFound when await TryReadAsync<TFailure>(response, cancellationToken).ConfigureAwait(false) is { } failure:
                throw failure switch
                {
                    DeadLetterOperationFailed deadLetter => new DeadLetterOperationException(deadLetter),
                    SubscriptionOperationFailed subscription => new SubscriptionOperationException(subscription),
                    _ => new AdminApiException($"{path}: {(int)response.StatusCode}"),
                };
            case HttpStatusCode.Unauthorized:
                throw new AdminApiException($"{(int)response.StatusCode} Unauthorized: the node's admin API needs its token (--admin-token, or ACTOREVENTS_ADMIN_TOKEN).");
            default:
                var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
                throw new AdminApiException($"{path}: the node answered {(int)response.StatusCode} {response.ReasonPhrase}{(body.Length > 0 ? $": {Text.Shorten(body, 200)}" : "")} " +
                    "(is this the operations endpoint of an ActorEvents node, with its admin API on?).");
        }
    }

    private async Task<TFailure?> TryReadAsync<TFailure>(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        try
        {
            return await response.Content.ReadFromJsonAsync<TFailure>(_json, cancellationToken).ConfigureAwait(false);
        }
        catch (JsonException)
        {
            return default;
        }
    }

    private static string Query(params (string Name, string? Value)[] parameters)
    {
        var given = parameters.Where(p => p.Value is not null).Select(p => $"{p.Name}={Uri.EscapeDataString(p.Value!)}").ToArray();
        return given.Length == 0 ? string.Empty : "?" + string.Join('&', given);
    }
}
