using ActorEvents.Actors.Configuration;
using Npgsql;
using ActorEvents.Actors.Storage;

namespace ActorEvents.Tests.Persistence;

public sealed class SchemaCreationTests
{
    [Fact]
    public async Task Should_create_the_postgresql_schema_once_when_several_nodes_start_together()
    {
        if (TestDatabases.PostgresConnectionString is not { } connectionString)
        {
            return; // PostgreSQL is not configured here; CI always sets it (see PostgreSqlConfigurationTests)
        }

        // A fresh, empty schema: every node's start-up creates the tables in it at the same moment.
        var schema = $"schema_race_{Guid.NewGuid():N}";
        await using (var admin = new NpgsqlConnection(connectionString))
        {
            await admin.OpenAsync();
            await new NpgsqlCommand($"CREATE SCHEMA {schema}", admin).ExecuteNonQueryAsync();
        }

        var scoped = new NpgsqlConnectionStringBuilder(connectionString) { SearchPath = schema }.ConnectionString;
        try
        {
            var options = new PersistenceOptions { Provider = PersistenceProviders.PostgreSql, ConnectionString = scoped };
            using var start = new Barrier(6);
            var nodes = Enumerable.Range(0, 6).Select(_ => Task.Run(async () =>
            {
                start.SignalAndWait();
                await DatabaseSchema.EnsureCreatedAsync(options);
            })).ToArray();

            await Task.WhenAll(nodes); // no duplicate-key error from racing CREATE TABLE IF NOT EXISTS

            await using var check = new NpgsqlConnection(connectionString);
            await check.OpenAsync();
            var tables = new List<string>();
            await using (var reader = await new NpgsqlCommand(
                $"SELECT table_name FROM information_schema.tables WHERE table_schema = '{schema}' ORDER BY table_name", check).ExecuteReaderAsync())
            {
                while (await reader.ReadAsync())
                {
                    tables.Add(reader.GetString(0));
                }
            }

            Assert.Subset(tables.ToHashSet(), new HashSet<string> { "journal", "tags", "snapshot", "ae_dead_letters" });
        }
        finally
        {
            await using var admin = new NpgsqlConnection(connectionString);
            await admin.OpenAsync();
            await new NpgsqlCommand($"DROP SCHEMA {schema} CASCADE", admin).ExecuteNonQueryAsync();
        }
    }
}
