using ActorEvents.Actors.Configuration;
using Akka.Configuration;
using ActorEvents.Actors.Storage;

namespace ActorEvents.Actors.Persistence;

/// <summary>
/// Builds the HOCON that points Akka.Persistence.Sql's journal, snapshot store and read journal at the
/// configured database (the Akka.Persistence.Sql.Hosting package is not available, so this is done here).
/// Tuning keys live in <c>hocon/persistence.conf</c>; only the connection and plugin wiring are generated.
/// </summary>
public static class PersistenceHocon
{
    /// <summary>Plugin id of the SQL journal.</summary>
    public const string JournalPluginId = "akka.persistence.journal.sql";

    /// <summary>Plugin id of the SQL read journal.</summary>
    public const string ReadJournalPluginId = "akka.persistence.query.journal.sql";

    /// <summary>The journal actor class of a write path.</summary>
    public static string JournalClassOf(JournalWriter writer) => writer switch
    {
        JournalWriter.GroupCommit => $"{typeof(GroupCommitSqlJournal).FullName}, {typeof(GroupCommitSqlJournal).Assembly.GetName().Name}",
        JournalWriter.Plugin => "Akka.Persistence.Sql.Journal.SqlWriteJournal, Akka.Persistence.Sql",
        _ => throw new InvalidOperationException($"ActorEvents:Persistence:JournalWriter '{writer}' is not supported; use GroupCommit or Plugin."),
    };

    /// <summary>The HOCON for the configured provider.</summary>
    public static Config Build(PersistenceOptions options)
    {
        var dialect = StorageDialect.Of(options.Provider);
        var connectionString = dialect.ConnectionStringOf(options);
        if (!dialect.HasDatabase)
        {
            return ConfigurationFactory.ParseString("""
                akka.persistence.journal.plugin = "akka.persistence.journal.inmem"
                akka.persistence.snapshot-store.plugin = "akka.persistence.snapshot-store.inmem"
                """);
        }

        var provider = Quote(dialect.Linq2DbProvider);
        var connection = Quote(connectionString);
        var autoInitialize = options.AutoInitialize && dialect.PluginCreatesJournalTables ? "on" : "off";
        var reads = dialect.ReadIsolationHocon;
        return ConfigurationFactory.ParseString($$"""
            akka.persistence {
              journal {
                plugin = "{{JournalPluginId}}"
                sql {
                  class = {{Quote(JournalClassOf(options.JournalWriter))}}
                  connection-string = {{connection}}
                  provider-name = {{provider}}
                  auto-initialize = {{autoInitialize}}
                  {{reads}}
                  write-timeout = {{Seconds(options.WriteTimeout)}}
                  commit-resolution-timeout = {{Seconds(options.CommitResolutionTimeout)}}
                  # Longer than the writer's longest time to an outcome, so the breaker never fails a write that commits later.
                  circuit-breaker.call-timeout = {{Seconds(BreakerCallTimeout(options))}}
                }
              }
              query.journal.sql {
                class = "Akka.Persistence.Sql.Query.SqlReadJournalProvider, Akka.Persistence.Sql"
                connection-string = {{connection}}
                provider-name = {{provider}}
                {{reads}}
                # Live queries (the subscriptions' EventsByTag) see a new event within about these two delays; the
                # plugin defaults (1s each) make them lag by one to two seconds. hocon/persistence.conf may tune them.
                refresh-interval = 100ms
                journal-sequence-retrieval.query-delay = 100ms
              }
              snapshot-store {
                plugin = "akka.persistence.snapshot-store.sql"
                sql {
                  class = "Akka.Persistence.Sql.Snapshot.SqlSnapshotStore, Akka.Persistence.Sql"
                  connection-string = {{connection}}
                  provider-name = {{provider}}
                  auto-initialize = {{autoInitialize}}
                  {{reads}}
                }
              }
            }
            """);
    }

    /// <summary>
    /// The journal breaker's call-timeout for the configured write deadlines: <see cref="PersistenceOptions.WriteTimeout"/> +
    /// 2 s + <see cref="PersistenceOptions.CommitResolutionTimeout"/> + 13 s, at least 30 s.
    /// </summary>
    public static TimeSpan BreakerCallTimeout(PersistenceOptions options)
    {
        var longest = options.WriteTimeout + TimeSpan.FromSeconds(2) + options.CommitResolutionTimeout + TimeSpan.FromSeconds(13);
        return longest > TimeSpan.FromSeconds(30) ? longest : TimeSpan.FromSeconds(30);
    }

    private static string Seconds(TimeSpan value) =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{value.TotalMilliseconds:0}ms");

    private static string Quote(string value) =>
        "\"" + value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";
}
