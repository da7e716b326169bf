using System.CommandLine;

namespace ActorEvents.Cli.Verbs;

/// <summary><c>--admin-url</c> and <c>--admin-token</c>, on every verb of <c>dlq</c> and <c>subscriptions</c>.</summary>
internal sealed class AdminTargetOptions
{
    /// <summary>Environment variable read when <c>--admin-token</c> is not given.</summary>
    public const string TokenVariable = "ACTOREVENTS_ADMIN_TOKEN";

    public Option<string?> AdminUrl { get; } = new("--admin-url")
    {
        Description = "Operations endpoint of a running node (e.g. http://127.0.0.1:9464/): the request runs on its cluster and this command starts no node " +
            "and opens no database. Without it the verbs work on the configured database's tables, for a database no cluster runs on.",
        Recursive = true,
    };

    public Option<string?> AdminToken { get; } = new("--admin-token")
    {
        Description = $"The node's admin token (ActorEvents:Operations:AdminToken), if it has one; default: the {TokenVariable} environment variable.",
        Recursive = true,
    };

    public AdminTargetOptions() =>
        // A validator, not a custom parser: its error is a parse error, known before any verb runs.
        AdminUrl.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<string?>() is { } text && Parse(text) is null)
            {
                result.AddError($"--admin-url '{text}' is not an http(s) URL.");
            }
        });

    public IEnumerable<Option> All => [AdminUrl, AdminToken];

    /// <summary>The admin URL, as a base address (with its trailing slash).</summary>
    public Uri? Url(ParseResult parse) => parse.GetValue(AdminUrl) is { } text ? Parse(text) : null;

    private static Uri? Parse(string text) =>
        Uri.TryCreate(text.EndsWith('/') ? text : text + "/", UriKind.Absolute, out var url) && url.Scheme is "http" or "https" ? url : null;

    public string? Token(ParseResult parse) => parse.GetValue(AdminToken) ?? Environment.GetEnvironmentVariable(TokenVariable);
}
