using ActorEvents.Actors.Configuration;
using ActorEvents.Actors.Internal;
using ActorEvents.Actors.Projections;
using ActorEvents.Actors.Storage;
using ActorEvents.Actors.Supervision;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace ActorEvents.Actors.Hosting;

/// <summary>
/// The database work of a node, awaited before its actor system starts (a hosted service registered ahead of Akka's, so
/// nothing blocks a thread on it): the schema of the configured database (journal, snapshots and ActorEvents' own tables,
/// under an advisory lock on PostgreSQL; write-ahead logging on SQLite) through the one schema initializer, a dead-letter
/// store the application registered, and the read models' tables. A failure fails the host's start with the database's error.
/// </summary>
internal sealed class StorageStartup(
    IOptions<ActorEventsOptions> options, ActorEventsDomain domain, IDeadLetterStore deadLetters, ActorEventsDatabase database,
    IServiceScopeFactory scopes) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        // Every table of ActorEvents (and the journal's on PostgreSQL), unless AutoInitialize is off.
        await DatabaseSchema.EnsureCreatedAsync(options.Value.Persistence, cancellationToken).ConfigureAwait(false);
        if (options.Value.Persistence.AutoInitialize && deadLetters is not SqlDeadLetterStore)
        {
            // A store registered by the application prepares itself. The built-in one's tables were just made by the schema
            // initializer above (its InitializeAsync asks that initializer, for the command line's use of a store alone).
            await deadLetters.InitializeAsync(cancellationToken).ConfigureAwait(false);
        }

        if (!database.IsAvailable)
        {
            return;
        }

        if (domain.ReadModelSchemas.Count > 0)
        {
            await database.ChangeSchemaAsync(async (db, token) =>
            {
                await using var scope = scopes.CreateAsyncScope();
                foreach (var schema in domain.ReadModelSchemas)
                {
                    var tables = (IReadModelSchema)ServiceActivation.Create(scope.ServiceProvider, schema);
                    await tables.CreateTablesAsync(db, token).ConfigureAwait(false);
                }
            }, cancellationToken).ConfigureAwait(false);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
