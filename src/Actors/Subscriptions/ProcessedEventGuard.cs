using System.Collections.Concurrent;
using System.Reflection;
using ActorEvents.Actors.Hosting;
using ActorEvents.Actors.Pipeline;
using LinqToDB;
using LinqToDB.Async;
using LinqToDB.Data;
using Microsoft.Extensions.DependencyInjection;

namespace ActorEvents.Actors.Subscriptions;

/// <summary>
/// Marks a durable handler whose effects are idempotent by nature (an upsert, a "set to" rather than "add"): it opts
/// out of the processed-event record, so it runs without a unit of work and may see an event twice after a crash.
/// </summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class NaturallyIdempotentAttribute : Attribute;

/// <summary>
/// The unit of work of one durable handler invocation (a scoped service): a connection to the journal's database
/// inside a transaction that also records the event as processed by this handler. Whatever the handler writes through
/// <see cref="Connection"/> commits together with that record, or not at all, so a redelivered event is skipped and its
/// effect happens exactly once. Get it with <c>context.UnitOfWork()</c>.
/// </summary>
public sealed class HandlerUnitOfWork
{
    private DataConnection? _connection;

    /// <summary>True while a durable invocation runs in this scope.</summary>
    public bool IsActive => _connection is not null;

    /// <summary>The connection, inside the invocation's transaction.</summary>
    /// <exception cref="InvalidOperationException">The invocation has no unit of work (in-request only, naturally idempotent, or no SQL database).</exception>
    public DataConnection Connection => _connection ?? throw new InvalidOperationException(
        "This handler invocation has no unit of work: only durable handlers (Delivery Durable or Both) without [NaturallyIdempotent] get one, on SQLite or PostgreSQL.");

    internal void Begin(DataConnection connection) => _connection = connection;

    internal void End() => _connection = null;
}

/// <summary>Access to the unit of work from a handler.</summary>
public static class HandlerUnitOfWorkExtensions
{
    /// <summary>The unit of work of this invocation (see <see cref="HandlerUnitOfWork"/>).</summary>
    public static HandlerUnitOfWork UnitOfWork(this EventContext context) => context.Services.GetRequiredService<HandlerUnitOfWork>();
}

/// <summary>
/// Exactly-once effects for durable handlers: every invocation of a handler delivered durably (Durable or Both) that is
/// not <see cref="NaturallyIdempotentAttribute">naturally idempotent</see> runs in a transaction that first looks for the
/// (handler, event id) row in <c>ae_processed_events</c>. Found: the event was handled before (a redelivery after a
/// crash, or the durable copy of a Both handler that already ran in the request) — the handler is skipped and the
/// redelivery counted. Not found: the handler runs with <see cref="HandlerUnitOfWork.Connection"/>, the row is inserted
/// and both commit together. A failure rolls both back, so a retry starts clean.
/// </summary>
public sealed class ProcessedEventGuard(ActorEventsDatabase database) : IHandlerInvocationFilter
{
    private readonly ConcurrentDictionary<HandlerDescriptor, bool> _guarded = new();

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

        var token = context.CancellationToken;
        var eventId = context.Envelope.EventId;
        await using var db = database.Open();
        await using var transaction = await database.BeginUnitOfWorkAsync(db, token).ConfigureAwait(false);
        var processed = db.GetTable<ProcessedEventRow>().Where(r => r.Handler == handler.Name && r.EventId == eventId);
        if (await processed.Set(r => r.Redeliveries, r => r.Redeliveries + 1).UpdateAsync(token).ConfigureAwait(false) > 0)
        {
            await transaction.CommitAsync(token).ConfigureAwait(false);
            return;
        }

        var unit = context.Services.GetRequiredService<HandlerUnitOfWork>();
        unit.Begin(db);
        try
        {
            await invoke().ConfigureAwait(false);
        }
        finally
        {
            unit.End();
        }

        await db.InsertAsync(new ProcessedEventRow { Handler = handler.Name, EventId = eventId, ProcessedAt = DateTime.UtcNow }, token: token).ConfigureAwait(false);
        await transaction.CommitAsync(token).ConfigureAwait(false);
    }

    /// <summary>Redeliveries recorded for these handlers (all time, from the table).</summary>
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
}
