using System.Reflection;
using ActorEvents.Actors.Aggregates;
using ActorEvents.Messages;
using NetArchTest.Rules;

namespace ActorEvents.Tests.Architecture;

/// <summary>
/// The layering of the runtime, read from the compiled assemblies (IL references, not using directives): a lower layer
/// that starts referencing a higher one fails here. Bottom up: Messages; Configuration, Internal, Serialization; Storage (its one
/// dependency is Configuration); Persistence, Projections; Aggregates; Supervision; Pipeline; Mediator, Subscriptions, Queries;
/// Hosting; then the Broker, Cli and Host projects.
/// </summary>
public sealed class LayeringTests
{
    private const string Root = "ActorEvents.Actors";
    private static readonly Assembly Actors = typeof(IAggregateDefinition).Assembly;

    public static TheoryData<string, string[]> Forbidden => new()
    {
        // Configuration is the options a node is bound from: it references no runtime room (the retry settings and the
        // event ordering are options; what makes an error permanent is Supervision's).
        { "Configuration", ["Aggregates", "Hosting", "Internal", "Mediator", "Persistence", "Pipeline", "Projections", "Queries", "Serialization", "Storage", "Subscriptions", "Supervision", "Telemetry"] },
        // Storage is the database and its schema: it knows the options, nothing of the runtime above it.
        { "Storage", ["Aggregates", "Hosting", "Mediator", "Persistence", "Pipeline", "Projections", "Queries", "Serialization", "Subscriptions", "Supervision", "Telemetry"] },
        // The serializer knows the message contracts and the closed type map; the rooms' own messages come with their wire formats.
        { "Serialization", ["Aggregates", "Configuration", "Hosting", "Internal", "Mediator", "Persistence", "Pipeline", "Projections", "Queries", "Storage", "Subscriptions", "Supervision", "Telemetry"] },
        { "Internal", ["Aggregates", "Configuration", "Hosting", "Mediator", "Persistence", "Pipeline", "Projections", "Queries", "Serialization", "Storage", "Subscriptions", "Supervision", "Telemetry"] },
        { "Persistence", ["Aggregates", "Hosting", "Mediator", "Pipeline", "Projections", "Queries", "Subscriptions", "Supervision"] },
        { "Projections", ["Aggregates", "Hosting", "Mediator", "Persistence", "Pipeline", "Queries", "Storage", "Subscriptions", "Supervision"] },
        // An aggregate decides and persists; it knows nothing of the mediator, handler pools, subscriptions, dead letters or hosting:
        // it tells its node's event sink what it persisted, in messages of its own.
        { "Aggregates", ["Hosting", "Mediator", "Pipeline", "Projections", "Queries", "Storage", "Subscriptions", "Supervision"] },
        { "Pipeline", ["Hosting", "Mediator", "Projections", "Queries", "Subscriptions"] },
        // The dead-letter office and stores are below the pipeline: the office's requests to the pools are its own protocol.
        { "Supervision", ["Aggregates", "Hosting", "Mediator", "Pipeline", "Projections", "Queries", "Subscriptions"] },
        { "Mediator", ["Hosting", "Projections", "Queries", "Storage", "Subscriptions", "Supervision"] },
        { "Queries", ["Aggregates", "Hosting", "Mediator", "Pipeline", "Subscriptions", "Supervision"] },
        { "Subscriptions", ["Hosting", "Mediator", "Queries"] },
        // Telemetry names the instruments and spans everything records: it knows no runtime room.
        { "Telemetry", ["Aggregates", "Hosting", "Mediator", "Persistence", "Pipeline", "Projections", "Queries", "Storage", "Subscriptions", "Supervision"] },
    };

    [Theory]
    [MemberData(nameof(Forbidden))]
    public void Should_keep_a_lower_layer_free_of_references_to_higher_ones(string layer, string[] higher)
    {
        var result = Types.InAssembly(Actors).That().ResideInNamespace($"{Root}.{layer}")
            .ShouldNot().HaveDependencyOnAny([.. higher.Select(h => $"{Root}.{h}")]).GetResult();

        Assert.True(result.IsSuccessful, $"{layer} references a higher layer from: {string.Join(", ", result.FailingTypeNames ?? [])}");
    }

    [Fact]
    public void Should_keep_hosting_at_the_top_of_the_runtime()
    {
        var result = Types.InAssembly(Actors).That().DoNotResideInNamespace($"{Root}.Hosting")
            .ShouldNot().HaveDependencyOn($"{Root}.Hosting").GetResult();

        Assert.True(result.IsSuccessful, $"Only the hosting layer may reference it; referenced from: {string.Join(", ", result.FailingTypeNames ?? [])}");
    }

    [Fact]
    public void Should_keep_the_message_contracts_free_of_the_runtime_and_of_akka()
    {
        var result = Types.InAssembly(typeof(ICommand).Assembly).ShouldNot().HaveDependencyOnAny(Root, "ActorEvents.Broker", "ActorEvents.Cli", "ActorEvents.Host", "Akka")
            .GetResult();

        Assert.True(result.IsSuccessful, $"Messages reference the runtime or Akka from: {string.Join(", ", result.FailingTypeNames ?? [])}");
    }

    [Fact]
    public void Should_keep_the_runtime_free_of_the_projects_built_on_it()
    {
        Assert.True(Types.InAssembly(Actors).ShouldNot().HaveDependencyOnAny("ActorEvents.Broker", "ActorEvents.Cli", "ActorEvents.Host").GetResult().IsSuccessful);
        Assert.True(Types.InAssembly(typeof(ActorEvents.Broker.BrokerOptions).Assembly).ShouldNot().HaveDependencyOnAny("ActorEvents.Cli", "ActorEvents.Host").GetResult().IsSuccessful);
        Assert.True(Types.InAssembly(typeof(ActorEvents.Cli.AdminCommands).Assembly).ShouldNot().HaveDependencyOn("ActorEvents.Host").GetResult().IsSuccessful);
    }

    [Fact]
    public void Should_test_the_framework_on_its_own_fixture_domain_not_on_the_sample_application()
    {
        // The sample (src/Host) is an application: its tests live beside it (tests/ActorEvents.Host.Tests). The framework's
        // tests, and the support library both test projects share, neither load it nor name its types.
        var testAssemblies = new[] { typeof(LayeringTests).Assembly, typeof(ActorEventsTestHost).Assembly };
        Assert.All(testAssemblies, assembly =>
            Assert.DoesNotContain("ActorEvents.Host", assembly.GetReferencedAssemblies().Select(a => a.Name)));
        Assert.All(testAssemblies, assembly =>
            Assert.True(Types.InAssembly(assembly).ShouldNot().HaveDependencyOn("ActorEvents.Host").GetResult().IsSuccessful));
    }

    [Fact]
    public void Should_keep_the_runtimes_actors_internal_but_the_three_an_application_addresses()
    {
        // The mediator, the dead-letter office and the subscription office are what an application finds in the actor
        // registry and sends messages to; every other actor of the runtime is an implementation detail.
        var publicActors = Actors.GetExportedTypes().Where(t => typeof(Akka.Actor.ActorBase).IsAssignableFrom(t)).Select(t => t.Name).Order(StringComparer.Ordinal);

        Assert.Equal(["CommandMediator", "DeadLetterOffice", "SubscriptionOffice"], publicActors);
    }

    [Fact]
    public void Should_see_the_references_it_guards_against()
    {
        // The checker reads IL: hosting wires storage, so the same rule turned around finds it.
        var result = Types.InAssembly(Actors).That().ResideInNamespace($"{Root}.Hosting").ShouldNot().HaveDependencyOn($"{Root}.Storage").GetResult();

        Assert.False(result.IsSuccessful);
        Assert.Contains($"{Root}.Hosting.ActorEventsHostingExtensions", result.FailingTypeNames);
    }
}
