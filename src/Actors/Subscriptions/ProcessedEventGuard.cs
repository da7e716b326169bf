using System.Collections.Concurrent;
using System.Reflection;
using System.Text.Json;
using ActorEvents.Actors.Pipeline;
using ActorEvents.Actors.Serialization;
using ActorEvents.Messages;
using LinqToDB;
using LinqToDB.Async;
using LinqToDB.Data;
using Microsoft.Extensions.DependencyInjection;
using ActorEvents.Actors.Storage;

namespace ActorEvents.Actors.Subscriptions;

/// <summary>
/// Marks a durable handler whose effects are idempotent by nature (an upsert, a "set to" rather than "add"): it opts
/// out of the processed-event record, so it runs without a unit of work and may see an event twice after a crash.
/// </summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class NaturallyIdempotentAttribute : Attribute;

/// <summary>
/// The unit of work of one durable handler invocation (a scoped service). While the handler runs, <see cref="Connection"/>
/// reads the journal's database and holds no lock and no write transaction (writes through it fail: the database is
/// read-only for it); the writes the handler registers with <see cref="Write"/> run after it returned, in one short
/// transaction that also records the event as processed by this handler. They commit together or not at all, so a
/// redelivered event is skipped and the effect happens exactly once — and a handler that sends a command, waits for it,
/// or runs long never holds SQLite's write lock meanwhile. Get it with <c>context.UnitOfWork()</c>.
/// </summary>
public sealed class HandlerUnitOfWork
{
    private readonly List<Func<DataConnection, CancellationToken, Task>> _writes = [];
    private DataConnection? _connection;

    /// <summary>True while a durable invocation runs in this scope.</summary>
    public bool IsActive => _connection is not null;

    /// <summary>A connection for reads while the handler runs (no transaction; writes through it are refused by the database).</summary>
    /// <exception cref="InvalidOperationException">The invocation has no unit of work (in-request only, naturally idempotent, or no SQL database).</exception>
    public DataConnection Connection => _connection ?? throw NoUnitOfWork();

    /// <summary>Writes registered so far, in order.</summary>
    internal IReadOnlyList<Func<DataConnection, CancellationToken, Task>> Writes => _writes;

    /// <summary>
    /// Registers a write of the handler's effect. It runs after the handler returned successfully, in the transaction that
    /// records the event as processed (in registration order, with that transaction's connection); if the handler fails,
    /// or the event turns out to be processed already, it never runs.
    /// </summary>
    /// <param name="write">The write; use the connection it is given, not <see cref="Connection"/>.</param>
    /// <exception cref="InvalidOperationException">The invocation has no unit of work.</exception>
    public void Write(Func<DataConnection, CancellationToken, Task> write)
    {
        _ = _connection ?? throw NoUnitOfWork();
        _writes.Add(write);
    }

    internal void Begin(DataConnection connection)
    {
        _writes.Clear();
        _connection = connection;
    }

    internal void End() => _connection = null;

    private static InvalidOperationException NoUnitOfWork() => new(
        "This handler invocation has no unit of work: only durable handlers (Delivery Durable or Both) without [NaturallyIdempotent] get one, on SQLite or PostgreSQL.");
}

/// <summary>Access to the unit of work from a handler.</summary>
public static class HandlerUnitOfWorkExtensions
{
    /// <summary>The unit of work of this invocation (see <see cref="HandlerUnitOfWork"/>).</summary>
    public static HandlerUnitOfWork UnitOfWork(this EventContext context) => context.Services.GetRequiredService<HandlerUnitOfWork>();
}

/// <summary>
/// Exactly-once effects for durable handlers: every invocation of a handler delivered durably (Durable or Both) that is
/// not <see cref="NaturallyIdempotentAttribute">naturally idempotent</see> is guarded by the (handler, event id) row in
/// <c>ae_processed_events</c>. First it looks for the row (a read, no lock): found, the event was handled before (a
/// redelivery after a crash, or the durable copy of a Both handler that already ran in the request) — the handler is
/// skipped, the redelivery counted, and the follow-up events that run emitted are handed back to be dispatched again
/// (under their first ids: their own guarded handlers skip them if they ran). Not found: the handler runs with a
/// read-only <see cref="HandlerUnitOfWork"/>, collecting its writes; once it returned, one short transaction inserts the
/// row (with the event's place in the journal and its follow-ups) and runs the writes, and both commit together. If the
/// row appeared meanwhile (another run of the same event finished first) the insert fails on its key, the transaction
/// rolls back and the writes never happen. A failure anywhere leaves nothing behind, so a retry starts clean.
/// No transaction is open while user code runs: on SQLite the write lock is held only for the final insert and writes.
/// </summary>
public sealed class ProcessedEventGuard(ActorEventsDatabase database, MessageTypeRegistry types) : IHandlerInvocationFilter
{
    private readonly ConcurrentDictionary<HandlerDescriptor, bool> _guarded = new();
    private readonly JsonSerializerOptions _json = ActorEventsSerializer.CreateOptions(types);

    /// <summary>Whether invocations of this handler are guarded.</summary>
    public bool Guards(HandlerDescriptor handler) => database.IsAvailable && _guarded.GetOrAdd(handler, h =>
        (h.Delivery & HandlerDelivery.Durable) != 0 && h.HandlerType.GetCustomAttribute<NaturallyIdempotentAttribute>() is null);

    /// <inheritdoc />
    public async Task InvokeAsync(HandlerDescriptor handler, EventContext context, Func<Task> invoke)
    {
        if (!Guards(handler))
        {
            await invoke().ConfigureAwait(false);
            return;
        }

        await RunOnceAsync(handler.Name, context.Envelope, context.Services, invoke,
            () => context.EmittedFollowUps, context.RestoreFollowUps, context.CancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Runs <paramref name="invoke"/> once per (<paramref name="name"/>, event id) as <see cref="InvokeAsync"/> describes, for
    /// a handler or another consumer with a unit of work (a broker subscriber: the event id is the message id). Returns
    /// false when it was skipped: processed before, or another run committed first.
    /// </summary>
    internal async Task<bool> RunOnceAsync(string name, EventEnvelope envelope, IServiceProvider services, Func<Task> invoke,
        Func<IReadOnlyList<FollowUpEvent>> emitted, Action<IReadOnlyList<FollowUpEvent>> restore, CancellationToken token)
    {
        await using var db = database.Open();
        if (await CountRedeliveryAsync(db, name, envelope.EventId, token).ConfigureAwait(false) is { } processed)
        {
            restore(ReadFollowUps(processed.Json));
            return false;
        }

        var unit = services.GetRequiredService<HandlerUnitOfWork>();
        await database.SetReadOnlyAsync(db, readOnly: true, token).ConfigureAwait(false);
        unit.Begin(db);
        try
        {
            await invoke().ConfigureAwait(false);
        }
        finally
        {
            unit.End();
        }

        var row = new ProcessedEventRow
        {
            Handler = name, EventId = envelope.EventId, ProcessedAt = DateTime.UtcNow, PersistenceId = envelope.StreamName,
            SequenceNr = envelope.SequenceNr, CausationId = envelope.CausationId, FollowUps = WriteFollowUps(emitted()),
        };
        await database.SetReadOnlyAsync(db, readOnly: false, CancellationToken.None).ConfigureAwait(false);
        await using var transaction = await ActorEventsDatabase.BeginUnitOfWorkAsync(db, CancellationToken.None).ConfigureAwait(false);
        try
        {
            await db.InsertAsync(row, token: CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception)
        {
            await transaction.RollbackAsync(CancellationToken.None).ConfigureAwait(false);
            await using var check = database.Open();
            if (await FindAsync(check, name, envelope.EventId, CancellationToken.None).ConfigureAwait(false) is { } winner)
            {
                // Another run of this event committed first: its effect (follow-ups included) stands, these writes never happen.
                restore(ReadFollowUps(winner.Json));
                return false;
            }

            throw;
        }

        foreach (var write in unit.Writes)
        {
            await write(db, CancellationToken.None).ConfigureAwait(false);
        }

        await transaction.CommitAsync(CancellationToken.None).ConfigureAwait(false);
        return true;
    }

    /// <summary>Counts a redelivery if (handler, event) was processed before; its stored follow-ups when it was, null when not.</summary>
    /// <remarks>
    /// Plain parameterised statements, not a LINQ query: every first delivery of every guarded event pays this look-up, and
    /// linq2db building and optimising the query again on each call was most of a broker subscriber's cost per message.
    /// The look-up is a read (no lock); only a redelivery writes.
    /// </remarks>
    private static async Task<StoredFollowUps?> CountRedeliveryAsync(DataConnection db, string handler, string eventId, CancellationToken token)
    {
        if (await FindAsync(db, handler, eventId, token).ConfigureAwait(false) is not { } found)
        {
            return null;
        }

        var connection = await db.OpenDbConnectionAsync(token).ConfigureAwait(false);
        await using var update = Command(connection, "UPDATE ae_processed_events SET redeliveries = redeliveries + 1 WHERE handler = @handler AND event_id = @event_id", handler, eventId);
        await update.ExecuteNonQueryAsync(token).ConfigureAwait(false);
        return found;
    }

    private static System.Data.Common.DbCommand Command(System.Data.Common.DbConnection connection, string sql, string handler, string eventId)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in new[] { ("@handler", handler), ("@event_id", eventId) })
        {
            var parameter = command.CreateParameter();
            parameter.ParameterName = name;
            parameter.Value = value;
            command.Parameters.Add(parameter);
        }

        return command;
    }

    /// <summary>The follow-ups stored with the (handler, event) row, or null when there is no row.</summary>
    private static async Task<StoredFollowUps?> FindAsync(DataConnection db, string handler, string eventId, CancellationToken token)
    {
        var connection = await db.OpenDbConnectionAsync(token).ConfigureAwait(false);
        await using var select = Command(connection, "SELECT follow_ups FROM ae_processed_events WHERE handler = @handler AND event_id = @event_id", handler, eventId);
        await using var reader = await select.ExecuteReaderAsync(token).ConfigureAwait(false);
        return await reader.ReadAsync(token).ConfigureAwait(false) ? new StoredFollowUps(reader.IsDBNull(0) ? null : reader.GetString(0)) : null;
    }

    /// <summary>The follow-ups a handler emitted, as stored with its row (null: none). Those of unregistered types are never dispatched, so not stored.</summary>
    private string? WriteFollowUps(IReadOnlyList<FollowUpEvent> followUps)
    {
        var dispatched = followUps.Where(f => types.TryGet(f.Event.GetType(), out _)).ToArray();
        return dispatched.Length == 0 ? null : JsonSerializer.Serialize(dispatched, _json);
    }

    /// <summary>The stored follow-ups; one whose type is no longer registered could not be dispatched, and is left out.</summary>
    private List<FollowUpEvent> ReadFollowUps(string? json)
    {
        if (json is null)
        {
            return [];
        }

        var followUps = new List<FollowUpEvent>();
        foreach (var stored in JsonSerializer.Deserialize<List<StoredFollowUp>>(json, _json) ?? [])
        {
            try
            {
                // In today's shape: a follow-up its upcasters split is dispatched as each of its events, ids as EventUpcasters.Upcast gives them.
                var read = stored.Event.Deserialize<IEvent>(_json)!;
                IReadOnlyList<IEvent> events = read is UpcastEvents many ? many.Events : [read];
                followUps.AddRange(events.Select((e, i) => new FollowUpEvent(i == 0 ? stored.EventId : $"{stored.EventId}.{i}", stored.EmittedAt, e)));
            }
            catch (UnregisteredTypeException)
            {
                // Removed since: the pool would refuse to dispatch it anyway.
            }
        }

        return followUps;
    }

    /// <summary>Redeliveries recorded for these handlers (one SUM query over the rows still kept: pruning removes their counts).</summary>
    public async Task<long> RedeliveriesAsync(IReadOnlyCollection<string> handlers, CancellationToken cancellationToken = default)
    {
        if (!database.IsAvailable || handlers.Count == 0)
        {
            return 0;
        }

        await using var db = database.Open();
        return await db.GetTable<ProcessedEventRow>().Where(r => handlers.Contains(r.Handler))
            .SumAsync(r => (long?)r.Redeliveries, cancellationToken).ConfigureAwait(false) ?? 0;
    }

    /// <summary>A processed row's follow-ups, as stored (null: none).</summary>
    private sealed record StoredFollowUps(string? Json);

    /// <summary>A stored <see cref="FollowUpEvent"/> with its event still as JSON, so that one of an unregistered type can be left out.</summary>
    private sealed record StoredFollowUp(string EventId, DateTimeOffset EmittedAt, JsonElement Event);
}
