using System.Collections.Concurrent;
using ActorEvents.Actors.Pipeline;
using ActorEvents.Host.Domain.Orders;
using Microsoft.Extensions.Options;

namespace ActorEvents.Host.Domain.Notifications;

/// <summary>Settings of the sample loyalty programme (section <c>Sample:Loyalty</c>).</summary>
public sealed class LoyaltyOptions
{
    /// <summary>Comma-separated customer ids whose loyalty accounts are suspended: their points cannot be credited.</summary>
    public string SuspendedCustomers { get; set; } = string.Empty;

    /// <summary>The suspended customers as a set.</summary>
    public IReadOnlySet<string> Suspended =>
        SuspendedCustomers.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToHashSet(StringComparer.Ordinal);
}

/// <summary>A loyalty account cannot take points right now; retrying will not help until an operator fixes it.</summary>
/// <param name="customerId">The customer.</param>
public sealed class LoyaltyAccountSuspendedException(string customerId)
    : Exception($"The loyalty account of {customerId} is suspended; points cannot be credited.");

/// <summary>Points credited per customer (in memory).</summary>
public sealed class LoyaltyLedger
{
    private readonly ConcurrentDictionary<string, int> _points = new(StringComparer.Ordinal);

    /// <summary>Points per customer.</summary>
    public IReadOnlyDictionary<string, int> Points => _points;

    /// <summary>Credits points.</summary>
    public void Credit(string customerId, int points) => _points.AddOrUpdate(customerId, points, (_, total) => total + points);
}

/// <summary>
/// Credits one loyalty point per shipped unit. Suspended accounts fail permanently, so those events land in the
/// dead-letter store at once — where an operator can inspect them and, once the account is fixed, replay them.
/// </summary>
public sealed class LoyaltyPointsHandler(LoyaltyLedger ledger, IOptionsMonitor<LoyaltyOptions> options) : IHandle<OrderShipped>
{
    /// <inheritdoc />
    public Task HandleAsync(OrderShipped @event, EventContext context)
    {
        if (@event.CustomerId is not { } customer)
        {
            return Task.CompletedTask; // shipped before customers were recorded on the event: nothing to credit
        }

        if (options.CurrentValue.Suspended.Contains(customer))
        {
            throw new LoyaltyAccountSuspendedException(customer);
        }

        ledger.Credit(customer, @event.Quantity);
        return Task.CompletedTask;
    }
}
