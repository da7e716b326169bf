using System.ComponentModel.DataAnnotations;
using ActorEvents.Actors.Configuration;

namespace ActorEvents.Actors.Subscriptions;

/// <summary>
/// The figures that tune one subscription (Protean's subscription profiles: messages per tick, tick interval,
/// position update interval).
/// </summary>
/// <param name="Name">Profile name.</param>
/// <param name="BatchSize">Most events taken from the journal and handled as one batch (a projection commits one batch per transaction).</param>
/// <param name="CheckpointEvery">
/// Events handled between two checkpoint writes: the most events redelivered after a crash (plus the batch in flight).
/// Projections commit the checkpoint with every batch whatever this says.
/// </param>
/// <param name="PollInterval">
/// Pause after a batch that did not fill up, before the next one is taken: events that arrive meanwhile make a larger
/// batch. Zero takes the next batch as soon as the read journal has one (it polls the journal every
/// <c>refresh-interval</c>, 100 ms by default).
/// </param>
/// <param name="MaxConcurrentHandlers">Most handler invocations of a handler subscription running at once (events of one aggregate stay in order).</param>
public sealed record SubscriptionProfile(string Name, int BatchSize, int CheckpointEvery, TimeSpan PollInterval, int MaxConcurrentHandlers)
{
    /// <summary>This profile with the overrides that are set.</summary>
    public SubscriptionProfile With(int? batchSize, int? checkpointEvery, TimeSpan? pollInterval, int? maxConcurrentHandlers) => this with
    {
        BatchSize = batchSize ?? BatchSize,
        CheckpointEvery = checkpointEvery ?? CheckpointEvery,
        PollInterval = pollInterval ?? PollInterval,
        MaxConcurrentHandlers = maxConcurrentHandlers ?? MaxConcurrentHandlers,
    };

    /// <summary>Refuses figures out of range, naming the subscription.</summary>
    /// <exception cref="InvalidOperationException">A figure is out of range.</exception>
    public SubscriptionProfile Validated(string subscription)
    {
        if (BatchSize is < 1 or > 100_000 || CheckpointEvery is < 1 or > 1_000_000 || MaxConcurrentHandlers is < 1 or > 1024
            || PollInterval < TimeSpan.Zero || PollInterval > TimeSpan.FromMinutes(10))
        {
            throw new InvalidOperationException(
                $"Subscription '{subscription}': batch size must be 1-100000 (is {BatchSize}), checkpoint interval 1-1000000 events (is {CheckpointEvery}), " +
                $"concurrent handlers 1-1024 (is {MaxConcurrentHandlers}) and poll interval 0-10 min (is {PollInterval}).");
        }

        return this;
    }
}

/// <summary>The named profiles. Every subscription starts from one and may override each figure.</summary>
public static class SubscriptionProfiles
{
    /// <summary>Throughput with a bounded redelivery window: batches of 100, a checkpoint every 100 events, 100 ms between partial batches.</summary>
    public static SubscriptionProfile Production { get; } = new("production", 100, 100, TimeSpan.FromMilliseconds(100), 4);

    /// <summary>Low latency: small batches taken as soon as they arrive, a checkpoint every 10 events.</summary>
    public static SubscriptionProfile Fast { get; } = new("fast", 10, 10, TimeSpan.Zero, 8);

    /// <summary>High volume: batches of 500 gathered for up to a second, a checkpoint every 1,000 events.</summary>
    public static SubscriptionProfile Batch { get; } = new("batch", 500, 1000, TimeSpan.FromSeconds(1), 8);

    /// <summary>One event at a time, one handler at a time, a checkpoint after every event: easy to follow in a debugger or log.</summary>
    public static SubscriptionProfile Debug { get; } = new("debug", 1, 1, TimeSpan.Zero, 1);

    /// <summary>Read models: batches of 200 applied and committed with the checkpoint in one transaction.</summary>
    public static SubscriptionProfile Projection { get; } = new("projection", 200, 200, TimeSpan.FromMilliseconds(50), 1);

    /// <summary>Every profile.</summary>
    public static IReadOnlyList<SubscriptionProfile> All { get; } = [Production, Fast, Batch, Debug, Projection];

    /// <summary>The profile with this name.</summary>
    /// <exception cref="InvalidOperationException">No profile has that name.</exception>
    public static SubscriptionProfile Get(string name) =>
        All.FirstOrDefault(p => string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase))
        ?? throw new InvalidOperationException($"There is no subscription profile '{name}'; use one of {string.Join(", ", All.Select(p => p.Name))}.");

    /// <summary>
    /// The profile a subscription runs with: its registered one, changed by the configured
    /// <c>ActorEvents:Subscriptions:Tuning:{name}</c> overrides, if any.
    /// </summary>
    public static SubscriptionProfile Effective(SubscriptionDefinition definition, SubscriptionsOptions options)
    {
        if (!options.Tuning.TryGetValue(definition.Name, out var tuning))
        {
            return definition.Profile;
        }

        var results = new List<ValidationResult>();
        if (!Validator.TryValidateObject(tuning, new ValidationContext(tuning), results, validateAllProperties: true))
        {
            throw new InvalidOperationException(
                $"ActorEvents:Subscriptions:Tuning:{definition.Name}: {string.Join(" ", results.Select(r => r.ErrorMessage))}");
        }

        var start = tuning.Profile is { } profile ? Get(profile) : definition.Profile;
        return start.With(tuning.BatchSize, tuning.CheckpointEvery, tuning.PollInterval, tuning.MaxConcurrentHandlers).Validated(definition.Name);
    }
}
