using ActorEvents.Actors.Configuration;
using Microsoft.Data.Sqlite;

namespace ActorEvents.Host.Cli;

/// <summary>Describes where a node keeps its journal without ever showing a connection string (it may hold a password).</summary>
public static class PersistenceDescription
{
    /// <summary>E.g. <c>sqlite (/srv/app/data/actor-events.db)</c>, <c>postgresql</c> or <c>inmemory (nothing survives the process)</c>.</summary>
    public static string Of(PersistenceOptions persistence)
    {
        switch (persistence.Provider)
        {
            case PersistenceProviders.Sqlite:
                var connectionString = string.IsNullOrWhiteSpace(persistence.ConnectionString)
                    ? PersistenceOptions.DefaultSqliteConnectionString
                    : persistence.ConnectionString;
                try
                {
                    var dataSource = new SqliteConnectionStringBuilder(connectionString).DataSource;
                    return string.IsNullOrEmpty(dataSource) || dataSource == ":memory:"
                        ? "sqlite (in memory)"
                        : $"sqlite ({Path.GetFullPath(dataSource)})";
                }
                catch (ArgumentException)
                {
                    return "sqlite";
                }

            case PersistenceProviders.InMemory:
                return "inmemory (nothing survives the process)";
            default:
                return persistence.Provider;
        }
    }
}
