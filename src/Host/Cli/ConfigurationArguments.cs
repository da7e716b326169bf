namespace ActorEvents.Host.Cli;

/// <summary>
/// The command-line tokens the CLI does not know itself, checked and handed on to the host's configuration
/// (<c>--ActorEvents:Persistence:Provider=postgresql</c> or <c>--ActorEvents:Node:Port 4054</c>).
/// </summary>
public static class ConfigurationArguments
{
    /// <summary>
    /// Accepts tokens of the form <c>--Section:Key=value</c>, <c>--Section:Key value</c> and <c>/Section:Key=value</c>
    /// (the forms the .NET command-line configuration provider reads). Anything else (a mistyped command or option)
    /// is refused instead of being silently ignored.
    /// </summary>
    /// <param name="tokens">The unmatched tokens, in command-line order.</param>
    /// <param name="arguments">The arguments for the configuration, in order.</param>
    /// <param name="error">Why a token was refused.</param>
    /// <returns>True when every token is a configuration argument.</returns>
    public static bool TryCollect(IReadOnlyList<string> tokens, out string[] arguments, out string? error)
    {
        var collected = new List<string>(tokens.Count);
        for (var i = 0; i < tokens.Count; i++)
        {
            var token = tokens[i];
            var prefix = token.StartsWith("--", StringComparison.Ordinal) ? 2 : token.StartsWith('/') ? 1 : 0;
            var separator = token.IndexOf('=', StringComparison.Ordinal);
            var key = prefix == 0 ? string.Empty : separator < 0 ? token[prefix..] : token[prefix..separator];
            if (!key.Contains(':', StringComparison.Ordinal) || key.StartsWith(':') || key.EndsWith(':'))
            {
                arguments = [];
                error = $"Unrecognized argument '{token}'. Configuration keys are passed as --Section:Key=value, e.g. --ActorEvents:Node:Port=4054; see --help for commands and options.";
                return false;
            }

            collected.Add(token);
            if (separator < 0)
            {
                if (i + 1 >= tokens.Count || tokens[i + 1].StartsWith("--", StringComparison.Ordinal))
                {
                    arguments = [];
                    error = $"The configuration key '{key}' has no value; pass it as --{key}=value.";
                    return false;
                }

                collected.Add(tokens[++i]);
            }
        }

        arguments = collected.ToArray();
        error = null;
        return true;
    }
}
