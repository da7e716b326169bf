using System.Security.Cryptography;
using System.Text;
using ActorEvents.Actors.Hosting;
using ActorEvents.Actors.Subscriptions;
using ActorEvents.Actors.Supervision;
using ActorEvents.Messages;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace ActorEvents.Cli.AdminApi;

/// <summary>
/// The HTTP admin API of a running node, which <c>dlq</c> and <c>subscriptions</c> with <c>--admin-url</c> talk to
/// (they start no node and touch no database). Routes, under <c>/admin</c>:
/// <list type="bullet">
/// <item><c>GET dead-letters?handler=&amp;eventType=&amp;aggregate=&amp;limit=</c>, <c>GET dead-letters/{id}</c>,
/// <c>POST dead-letters/{id}/replay</c>, <c>POST dead-letters/{id}/skip</c>, <c>POST dead-letters/replay-all?handler=</c>,
/// <c>DELETE dead-letters</c> (purge);</item>
/// <item><c>GET subscriptions?name=</c>, <c>POST subscriptions/{name}/pause|resume|rebuild</c>,
/// <c>POST subscriptions/{name}/reset?to=&amp;rerun=</c>.</item>
/// </list>
/// Answers are the message records as JSON (200); a refusal is 409 with the failure record
/// (<see cref="DeadLetterOperationFailed"/>, or <see cref="SubscriptionOperationFailed"/>: 404 for an unknown name);
/// with a token, a request without <c>Authorization: Bearer &lt;token&gt;</c> gets 401.
/// </summary>
public static class AdminApiEndpoints
{
    /// <summary>Maps the admin routes onto <paramref name="endpoints"/>, answering from the services of the node <paramref name="node"/>.</summary>
    /// <param name="endpoints">Where to map them.</param>
    /// <param name="node">The node's services (<see cref="IDeadLetterAdmin"/>, <see cref="ISubscriptionsClient"/>).</param>
    /// <param name="token">When set, every request must carry it as a bearer token.</param>
    public static IEndpointRouteBuilder MapActorEventsAdmin(this IEndpointRouteBuilder endpoints, IServiceProvider node, string? token)
    {
        var json = AdminWire.Json(node.GetRequiredService<ActorEventsDomain>().Types);
        var deadLetters = node.GetRequiredService<IDeadLetterAdmin>();
        var subscriptions = node.GetRequiredService<ISubscriptionsClient>();
        var group = endpoints.MapGroup(AdminWire.Root);
        if (!string.IsNullOrEmpty(token))
        {
            var expected = Encoding.UTF8.GetBytes($"{AdminWire.Scheme} {token}");
            group.AddEndpointFilter(async (context, next) =>
                CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(context.HttpContext.Request.Headers.Authorization.ToString()), expected)
                    ? await next(context).ConfigureAwait(false)
                    : Results.Json(new { error = "The admin API needs its token: Authorization: Bearer <ActorEvents:Operations:AdminToken>." }, json, statusCode: 401));
        }

        group.MapGet("/dead-letters", (string? handler, string? eventType, string? aggregate, int? limit, CancellationToken cancellation) =>
            Answer(async () => await deadLetters.ListAsync(new DeadLetterFilter(handler, eventType, aggregate, limit ?? 1000), cancellation).ConfigureAwait(false)));
        group.MapGet("/dead-letters/{id:long}", (long id, CancellationToken cancellation) => Answer(() => deadLetters.InspectAsync(id, cancellation)));
        group.MapPost("/dead-letters/{id:long}/replay", (long id, CancellationToken cancellation) => Answer(() => deadLetters.ReplayAsync(id, cancellation)));
        group.MapPost("/dead-letters/{id:long}/skip", (long id, CancellationToken cancellation) => Answer(() => deadLetters.SkipAsync(id, cancellation)));
        group.MapPost("/dead-letters/replay-all", (string handler, CancellationToken cancellation) => Answer(() => deadLetters.ReplayAllAsync(handler, cancellation)));
        group.MapDelete("/dead-letters", (CancellationToken cancellation) => Answer(() => deadLetters.PurgeAsync(cancellation)));

        group.MapGet("/subscriptions", (string? name, CancellationToken cancellation) => Answer(() => subscriptions.StatusAsync(name, cancellation)));
        group.MapPost("/subscriptions/{name}/pause", (string name, CancellationToken cancellation) => Answer(() => subscriptions.PauseAsync(name, cancellation)));
        group.MapPost("/subscriptions/{name}/resume", (string name, CancellationToken cancellation) => Answer(() => subscriptions.ResumeAsync(name, cancellation)));
        group.MapPost("/subscriptions/{name}/reset", (string name, long? to, bool? rerun, CancellationToken cancellation) =>
            Answer(() => subscriptions.ResetAsync(name, to ?? 0, rerun ?? false, cancellation)));
        group.MapPost("/subscriptions/{name}/rebuild", (string name, CancellationToken cancellation) => Answer(() => subscriptions.RebuildAsync(name, cancellation)));
        return endpoints;

        async Task<IResult> Answer<T>(Func<Task<T>> operation)
        {
            try
            {
                return Results.Json(await operation().ConfigureAwait(false), json);
            }
            catch (DeadLetterOperationException e)
            {
                return Results.Json(e.Failure, json, statusCode: StatusCodes.Status409Conflict);
            }
            catch (SubscriptionOperationException e)
            {
                return Results.Json(e.Failure, json,
                    statusCode: e.Failure.Code == SubscriptionErrorCode.UnknownSubscription ? StatusCodes.Status404NotFound : StatusCodes.Status409Conflict);
            }
        }
    }

}
