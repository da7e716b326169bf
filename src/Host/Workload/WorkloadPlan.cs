using System.Runtime.InteropServices;

namespace ActorEvents.Host.Workload;

/// <summary>The life of an order after it is placed.</summary>
public enum OrderFate
{
    /// <summary>Process it (four events and their handlers), then ship it.</summary>
    ProcessAndShip,

    /// <summary>Ship it straight away.</summary>
    Ship,

    /// <summary>Cancel it.</summary>
    Cancel,

    /// <summary>Process it and leave it waiting for shipment.</summary>
    ProcessOnly,

    /// <summary>Ship it, then ship it again (the second is rejected: already shipped).</summary>
    ShipTwice,

    /// <summary>Cancel it, then try to ship it (rejected: cancelled).</summary>
    ShipAfterCancel,

    /// <summary>Place it twice (the second is rejected: already exists), then ship it.</summary>
    PlaceTwice,
}

/// <summary>A single command sent only to be refused.</summary>
public enum ProbeKind
{
    /// <summary>Take far more stock than any SKU holds (domain rule).</summary>
    OverReduce,

    /// <summary>Place an order for zero units (validation).</summary>
    InvalidQuantity,

    /// <summary>Place an order with an empty id (invalid aggregate id).</summary>
    EmptyId,

    /// <summary>Ship an order that was never placed (aggregate not found).</summary>
    UnknownOrder,

    /// <summary>Add a negative quantity of stock (validation).</summary>
    NegativeRestock,
}

/// <summary>One unit of work of a batch.</summary>
public abstract record WorkItem
{
    /// <summary>How many commands this item is expected to send.</summary>
    public abstract int PlannedCommands { get; }
}

/// <summary>Add stock to one SKU.</summary>
/// <param name="Sku">SKU.</param>
/// <param name="Quantity">Units added.</param>
public sealed record RestockItem(string Sku, int Quantity) : WorkItem
{
    /// <inheritdoc />
    public override int PlannedCommands => 1;
}

/// <summary>The life of one order: place it, then its <see cref="Fate"/>. Shipping takes its stock (the sample's stock handler).</summary>
/// <param name="OrderId">Order id (unique per run).</param>
/// <param name="CustomerId">Customer.</param>
/// <param name="Sku">Ordered SKU.</param>
/// <param name="Quantity">Ordered units.</param>
/// <param name="UnitPrice">Price per unit.</param>
/// <param name="Fate">What happens after it is placed.</param>
public sealed record OrderItem(string OrderId, string CustomerId, string Sku, int Quantity, decimal UnitPrice, OrderFate Fate) : WorkItem
{
    /// <inheritdoc />
    public override int PlannedCommands => Fate switch
    {
        OrderFate.Ship or OrderFate.Cancel or OrderFate.ProcessOnly => 2,
        _ => 3,
    };
}

/// <summary>One command that must be rejected.</summary>
/// <param name="Kind">What is wrong with it.</param>
/// <param name="Sku">A SKU to aim at.</param>
/// <param name="OrderId">An order id to use.</param>
public sealed record ProbeItem(ProbeKind Kind, string Sku, string OrderId) : WorkItem
{
    /// <inheritdoc />
    public override int PlannedCommands => 1;
}

/// <summary>Register a new user (its <c>user.created</c> event has two subscribers: the welcome e-mail and the audit log).</summary>
/// <param name="UserId">User id (unique per run).</param>
/// <param name="Email">E-mail address.</param>
/// <param name="Name">Display name.</param>
public sealed record SignUpItem(string UserId, string Email, string Name) : WorkItem
{
    /// <inheritdoc />
    public override int PlannedCommands => 1;
}

/// <summary>A batch: restock every SKU, then run orders and probes concurrently.</summary>
/// <param name="Restocks">One restock per SKU, run before the orders.</param>
/// <param name="Items">Orders and probes, shuffled.</param>
public sealed record WorkloadBatch(IReadOnlyList<RestockItem> Restocks, IReadOnlyList<WorkItem> Items)
{
    /// <summary>Commands this batch is expected to send.</summary>
    public int PlannedCommands => Restocks.Count + Items.Sum(i => i.PlannedCommands);
}

/// <summary>The whole run, decided up front from the settings and a seeded random source.</summary>
/// <param name="RunId">Run id.</param>
/// <param name="Skus">The fixed SKU ids.</param>
/// <param name="Batches">Batches, run one after the other.</param>
public sealed record WorkloadPlan(string RunId, IReadOnlyList<string> Skus, IReadOnlyList<WorkloadBatch> Batches)
{
    /// <summary>Quantity used by <see cref="ProbeKind.OverReduce"/>: more than any SKU will ever hold.</summary>
    public const int ImpossibleQuantity = 1_000_000_000;

    private static readonly (OrderFate Fate, int Weight)[] FateWeights =
    [
        (OrderFate.ProcessAndShip, 40),
        (OrderFate.Ship, 15),
        (OrderFate.Cancel, 15),
        (OrderFate.ProcessOnly, 12),
        (OrderFate.ShipTwice, 6),
        (OrderFate.ShipAfterCancel, 6),
        (OrderFate.PlaceTwice, 6),
    ];

    /// <summary>Commands the plan is expected to send (a reservation that finds too little stock changes it slightly).</summary>
    public int PlannedCommands => Batches.Sum(b => b.PlannedCommands);

    /// <summary>Number of orders in the plan.</summary>
    public int Orders => Batches.Sum(b => b.Items.OfType<OrderItem>().Count());

    /// <summary>The fixed id of SKU number <paramref name="number"/> (1-based).</summary>
    public static string SkuId(int number) => $"sku-{number:D3}";

    /// <summary>
    /// Builds the plan: batches of one restock per SKU followed by orders (and, for every tenth order, a probe)
    /// until the command budget is used, then a closing batch that restocks every SKU once more. The replies to
    /// the first and the closing restocks carry each SKU's stock before and after the run.
    /// </summary>
    public static WorkloadPlan Create(WorkloadSettings settings)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(settings.Commands, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(settings.OrdersPerBatch, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(settings.Skus, 1);

        var random = new Random(settings.RandomSeed);
        var skus = Enumerable.Range(1, settings.Skus).Select(SkuId).ToArray();
        var batches = new List<WorkloadBatch>();
        var budget = settings.Commands - skus.Length; // keep room for the closing restock
        var planned = 0;
        var orderNumber = 0;
        var probeNumber = 0;
        do
        {
            var restocks = Restock(skus, random);
            planned += restocks.Length;
            var items = new List<WorkItem>();
            for (var i = 0; i < settings.OrdersPerBatch && planned < budget; i++)
            {
                orderNumber++;
                var order = new OrderItem(
                    $"{settings.RunId}-o{orderNumber:D5}",
                    $"customer-{random.Next(1, 101):D3}",
                    skus[random.Next(skus.Length)],
                    random.Next(1, 4),
                    random.Next(100, 10_000) / 100m,
                    PickFate(random));
                items.Add(order);
                planned += order.PlannedCommands;
                if (orderNumber % 20 == 0)
                {
                    var userId = $"{settings.RunId}-u{orderNumber / 20:D4}";
                    items.Add(new SignUpItem(userId, $"{userId}@example.org", $"User {orderNumber / 20}"));
                    planned++;
                }

                if (orderNumber % 10 == 0)
                {
                    var probe = new ProbeItem(
                        (ProbeKind)(probeNumber++ % Enum.GetValues<ProbeKind>().Length),
                        skus[random.Next(skus.Length)],
                        order.OrderId);
                    items.Add(probe);
                    planned += probe.PlannedCommands;
                }
            }

            random.Shuffle(CollectionsMarshal.AsSpan(items));
            batches.Add(new WorkloadBatch(restocks, items));
        }
        while (planned < budget);

        batches.Add(new WorkloadBatch(Restock(skus, random), []));
        return new WorkloadPlan(settings.RunId, skus, batches);
    }

    // A batch's orders take about 2 units per SKU on average (at most 3 per order); restocking 20-40 keeps every
    // shipment covered, so stock grows with every run.
    private static RestockItem[] Restock(string[] skus, Random random) =>
        skus.Select(sku => new RestockItem(sku, random.Next(20, 41))).ToArray();

    private static OrderFate PickFate(Random random)
    {
        var roll = random.Next(FateWeights.Sum(f => f.Weight));
        foreach (var (fate, weight) in FateWeights)
        {
            if (roll < weight)
            {
                return fate;
            }

            roll -= weight;
        }

        return OrderFate.ProcessAndShip;
    }
}
