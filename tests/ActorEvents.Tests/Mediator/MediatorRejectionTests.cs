using ActorEvents.Messages;
using ActorEvents.Tests.Fixture;

namespace ActorEvents.Tests.Mediator;

/// <summary>Small limits so the size and length checks are easy to hit.</summary>
public sealed class RejectionHostFixture : InMemoryHostFixture
{
    public const int MaxIdLength = 40;
    public const int MaxCommandBytes = 512;

    protected override IReadOnlyDictionary<string, string?> ConfigurationOverrides => new Dictionary<string, string?>
    {
        ["Mediator:MaxAggregateIdLength"] = MaxIdLength.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["Mediator:MaxCommandBytes"] = MaxCommandBytes.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };
}

/// <summary>A command that no aggregate handles (it has a stable name, but no aggregate registers it).</summary>
[MessageName("test.unrouted")]
public sealed record UnroutedCommand(string AggregateId) : ICommand;

/// <summary>
/// The rejection matrix through the real mediator and aggregates (in-memory journal): every refusal carries its
/// typed code and leaves the journal as it was.
/// </summary>
public sealed class MediatorRejectionTests(RejectionHostFixture fixture) : IClassFixture<RejectionHostFixture>
{
    private ActorEventsTestHost Host => fixture.Host;

    private static string NewId(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..30];

    /// <summary>Sends the command, asserts the code, and asserts the given streams hold exactly as many events as before.</summary>
    private async Task<CommandRejected> AssertRejectedWithoutWritesAsync(ICommand command, RejectionCode code, params string[] streams)
    {
        var before = await CountAsync(streams);
        var metadata = new CommandMetadata("cmd-" + Guid.NewGuid().ToString("N"));

        var result = await Host.SendAsync(command, metadata);

        var rejected = Assert.IsType<CommandRejected>(result);
        Assert.Equal(code, rejected.Code);
        Assert.Equal(metadata.CommandId, rejected.CommandId);
        Assert.False(string.IsNullOrWhiteSpace(rejected.Message));
        Assert.Equal(before, await CountAsync(streams));
        return rejected;
    }

    private async Task<int[]> CountAsync(string[] streams)
    {
        var counts = new int[streams.Length];
        for (var i = 0; i < streams.Length; i++)
        {
            counts[i] = (await JournalReader.ReadAsync(Host.System, streams[i])).Count;
        }

        return counts;
    }

    [Fact]
    public async Task Should_reject_a_command_type_no_aggregate_handles_as_unknown_command()
    {
        var id = NewId("unknown");

        var rejected = await AssertRejectedWithoutWritesAsync(new UnroutedCommand(id), RejectionCode.UnknownCommand,
            $"order-{id}", $"inventory-{id}", $"user-{id}", $"test.unrouted-{id}");

        Assert.Contains(nameof(UnroutedCommand), rejected.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Should_reject_an_empty_aggregate_id()
    {
        await AssertRejectedWithoutWritesAsync(new AddStock("", 5), RejectionCode.InvalidAggregateId, "inventory-");
    }

    [Fact]
    public async Task Should_reject_a_whitespace_aggregate_id()
    {
        await AssertRejectedWithoutWritesAsync(new AddStock("   ", 5), RejectionCode.InvalidAggregateId, "inventory-   ");
    }

    [Fact]
    public async Task Should_reject_an_aggregate_id_longer_than_the_configured_maximum()
    {
        var tooLong = new string('x', RejectionHostFixture.MaxIdLength + 1);

        var rejected = await AssertRejectedWithoutWritesAsync(new AddStock(tooLong, 5), RejectionCode.InvalidAggregateId, $"inventory-{tooLong}");

        Assert.Contains($"at most {RejectionHostFixture.MaxIdLength}", rejected.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Should_accept_an_aggregate_id_of_exactly_the_configured_maximum()
    {
        var longest = NewId("max").PadRight(RejectionHostFixture.MaxIdLength, 'x');

        var accepted = await Host.AcceptAsync(new AddStock(longest, 5));

        Assert.Equal(longest, accepted.AggregateId);
        Assert.Single(await Host.ReadStreamAsync("inventory", longest));
    }

    [Fact]
    public async Task Should_reject_an_aggregate_id_with_control_characters()
    {
        await AssertRejectedWithoutWritesAsync(new AddStock("sku\n1", 5), RejectionCode.InvalidAggregateId, "inventory-sku\n1");
    }

    [Fact]
    public async Task Should_reject_a_payload_that_fails_the_validation_hook()
    {
        var sku = NewId("invalid");
        var orderId = NewId("invalid");

        var rejected = await AssertRejectedWithoutWritesAsync(new AddStock(sku, 0), RejectionCode.ValidationFailed, $"inventory-{sku}");
        await AssertRejectedWithoutWritesAsync(new PlaceOrder(orderId, "c-1", "sku-1", 1, -1m), RejectionCode.ValidationFailed, $"order-{orderId}");

        Assert.Contains("quantity must be positive", rejected.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Should_reject_a_validation_failure_even_when_the_aggregate_exists()
    {
        var sku = NewId("invalid-existing");
        await Host.AcceptAsync(new AddStock(sku, 5));

        await AssertRejectedWithoutWritesAsync(new ReduceStock(sku, -1, "o-1"), RejectionCode.ValidationFailed, $"inventory-{sku}");
    }

    [Fact]
    public async Task Should_reject_a_command_whose_serialized_payload_is_over_the_maximum()
    {
        var orderId = NewId("big");
        var hugeCustomer = new string('c', RejectionHostFixture.MaxCommandBytes);

        var rejected = await AssertRejectedWithoutWritesAsync(
            new PlaceOrder(orderId, hugeCustomer, "sku-1", 1, 1m), RejectionCode.PayloadTooLarge, $"order-{orderId}");

        Assert.Contains($"at most {RejectionHostFixture.MaxCommandBytes}", rejected.Message, StringComparison.Ordinal);

        // The same command with a payload under the limit goes through.
        await Host.AcceptAsync(new PlaceOrder(orderId, new string('c', 100), "sku-1", 1, 1m));
    }

    [Fact]
    public async Task Should_reject_a_command_for_an_aggregate_that_must_exist_but_does_not()
    {
        var orderId = NewId("missing");
        var sku = NewId("missing");

        await AssertRejectedWithoutWritesAsync(new ShipOrder(orderId), RejectionCode.AggregateNotFound, $"order-{orderId}");
        await AssertRejectedWithoutWritesAsync(new CancelOrder(orderId, "r"), RejectionCode.AggregateNotFound, $"order-{orderId}");
        await AssertRejectedWithoutWritesAsync(new ReduceStock(sku, 1, "o-1"), RejectionCode.AggregateNotFound, $"inventory-{sku}");
    }

    [Fact]
    public async Task Should_reject_a_command_that_would_create_an_aggregate_that_already_exists()
    {
        var orderId = NewId("exists");
        await Host.AcceptAsync(new PlaceOrder(orderId, "c-1", "sku-1", 1, 1m));

        await AssertRejectedWithoutWritesAsync(new PlaceOrder(orderId, "c-2", "sku-2", 2, 2m), RejectionCode.AggregateAlreadyExists, $"order-{orderId}");

        var stream = await Host.ReadStreamAsync("order", orderId);
        Assert.Equal(new OrderPlaced(orderId, "c-1", "sku-1", 1, new Money(1m, "EUR")), Assert.Single(stream).Event);
    }

    [Fact]
    public async Task Should_reject_a_command_that_breaks_a_domain_rule()
    {
        var sku = NewId("rule");
        var orderId = NewId("rule");
        await Host.AcceptAsync(new AddStock(sku, 3));
        await Host.AcceptAsync(new PlaceOrder(orderId, "c-1", sku, 1, 1m));
        await Host.AcceptAsync(new CancelOrder(orderId, "r"));

        var rejected = await AssertRejectedWithoutWritesAsync(new ReduceStock(sku, 4, "o-1"), RejectionCode.DomainRuleViolation, $"inventory-{sku}");
        await AssertRejectedWithoutWritesAsync(new CancelOrder(orderId, "again"), RejectionCode.DomainRuleViolation, $"order-{orderId}");

        Assert.Contains("only 3", rejected.Message, StringComparison.Ordinal);

        // The refused command left the state alone: all 3 units can still be taken.
        var reduced = await Host.AcceptAsync(new ReduceStock(sku, 3, "o-1"));
        Assert.Equal(new StockReduced(sku, 3, "o-1", 0), Assert.Single(reduced.Events).Event);
        Assert.Equal(2, Assert.Single(reduced.Events).SequenceNr);
    }

    [Fact]
    public async Task Should_keep_serving_other_aggregates_after_rejections()
    {
        var sku = NewId("after");
        await AssertRejectedWithoutWritesAsync(new AddStock("", 1), RejectionCode.InvalidAggregateId, "inventory-");

        var accepted = await Host.AcceptAsync(new AddStock(sku, 2));

        Assert.Equal(new StockAdded(sku, 2, 2), Assert.Single(accepted.Events).Event);
    }
}
