using System.Collections;
using System.Reflection;
using ActorEvents.Actors.Configuration;
using ActorEvents.Host.Domain.Notifications;
using ActorEvents.Host.Operations;
using YamlDotNet.RepresentationModel;

namespace ActorEvents.Host.Tests.Hosting;

/// <summary>
/// No Docker engine runs here, so the compose file is checked statically: its shape (PostgreSQL plus three nodes,
/// one seed) and that every environment variable it gives a node is a configuration key the host reads.
/// </summary>
public sealed class DockerComposeTests
{
    private static readonly YamlMappingNode Services = LoadServices();

    [Fact]
    public void Should_run_postgresql_and_three_nodes_that_all_list_the_same_two_seeds_in_the_same_order()
    {
        var nodes = NodeServices().ToArray();
        Assert.Equal(3, nodes.Length);
        Assert.Contains(Services.Children.Keys, k => k.ToString() == "postgres");
        // The same list everywhere: only node1 (the first) may start a cluster, and a restarted node1 finds node2's.
        Assert.All(nodes, n => Assert.Equal(["akka.tcp://actor-events@node1:4053", "akka.tcp://actor-events@node2:4053"],
            Environment(n.Service).Where(e => e.Key.StartsWith("ActorEvents__Node__SeedNodes__", StringComparison.Ordinal)).OrderBy(e => e.Key, StringComparer.Ordinal).Select(e => e.Value)));
        Assert.All(nodes, n => Assert.Equal("postgresql", Environment(n.Service)["ActorEvents__Persistence__Provider"]));
        Assert.All(nodes, n => Assert.Equal(n.Name, Environment(n.Service)["ActorEvents__Node__PublicHostname"]));
        Assert.All(nodes, n => Assert.DoesNotContain("Password=postgres", Environment(n.Service)["ActorEvents__Persistence__ConnectionString"], StringComparison.Ordinal));
    }

    [Fact]
    public void Should_give_every_node_a_healthcheck_that_probes_its_ready_endpoint_on_its_operations_port()
    {
        Assert.All(NodeServices(), n =>
        {
            var port = Environment(n.Service)["ActorEvents__Operations__Port"];
            var test = ((YamlSequenceNode)((YamlMappingNode)n.Service.Children["healthcheck"]).Children["test"]).Children.Select(c => c.ToString()).ToArray();
            Assert.Equal(["CMD", "dotnet", "ActorEvents.Host.dll", "probe", $"http://127.0.0.1:{port}/ready"], test);
        });
    }

    [Fact]
    public void Should_serve_the_admin_api_of_every_node_only_with_the_token_from_the_environment()
    {
        Assert.All(NodeServices(), n => Assert.Equal("${ACTOREVENTS_ADMIN_TOKEN:-}", Environment(n.Service)["ActorEvents__Operations__AdminToken"]));
        // Off loopback (compose binds 0.0.0.0) an empty token means no admin API.
        Assert.False(OperationsEndpoint.AdminApiServed(new OperationsOptions { Hostname = "0.0.0.0", AdminToken = "" }));
    }

    [Fact]
    public void Should_run_rabbitmq_and_wire_every_node_to_it_once_it_is_healthy()
    {
        var rabbitmq = (YamlMappingNode)Services.Children["rabbitmq"];
        Assert.Contains("rabbitmq-diagnostics", ((YamlMappingNode)rabbitmq.Children["healthcheck"]).Children["test"].ToString(), StringComparison.Ordinal);
        Assert.All(NodeServices(), n =>
        {
            Assert.StartsWith("amqp://", Environment(n.Service)["ActorEvents__Broker__Uri"], StringComparison.Ordinal);
            Assert.Contains("@rabbitmq:5672", Environment(n.Service)["ActorEvents__Broker__Uri"], StringComparison.Ordinal);
            var dependsOn = (YamlMappingNode)n.Service.Children["depends_on"];
            Assert.Equal("service_healthy", ((YamlMappingNode)dependsOn.Children["rabbitmq"]).Children["condition"].ToString());
        });
    }

    [Fact]
    public async Task Should_be_a_valid_compose_file_for_docker_compose_config()
    {
        // `docker compose config` (plugin) or `docker-compose config` (v1, Debian's package; .ci/run installs it) resolves
        // and validates the file without a Docker engine. Skipped locally when neither is installed; CI must have one.
        var tool = Tool("docker", "compose", "version") is 0 ? ("docker", new[] { "compose" })
            : Tool("docker-compose", "version") is 0 ? ("docker-compose", Array.Empty<string>())
            : default;
        if (tool == default)
        {
            Assert.False(System.Environment.GetEnvironmentVariable("CI") is "true" or "1", "CI must have docker compose or docker-compose (.ci/run installs it)");
            return;
        }

        var start = new System.Diagnostics.ProcessStartInfo(tool.Item1) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = RepositoryRoot() };
        foreach (var argument in tool.Item2.Concat(["-f", "docker-compose.yml", "config"]))
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["POSTGRES_PASSWORD"] = "compose-config-check";
        using var process = System.Diagnostics.Process.Start(start)!;
        var output = await process.StandardOutput.ReadToEndAsync();
        var errors = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, errors);
        var resolved = new YamlStream();
        resolved.Load(new StringReader(output));
        var services = (YamlMappingNode)((YamlMappingNode)resolved.Documents[0].RootNode).Children["services"];
        Assert.Equal(Services.Children.Keys.Select(k => k.ToString()).Order(StringComparer.Ordinal), services.Children.Keys.Select(k => k.ToString()).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Should_only_set_environment_variables_the_host_reads()
    {
        var unknown = new List<string>();
        foreach (var (name, service) in NodeServices())
        {
            foreach (var key in Environment(service).Keys)
            {
                if (!IsReadByTheHost(key))
                {
                    unknown.Add($"{name}: {key}");
                }
            }
        }

        Assert.Empty(unknown);
    }

    [Theory]
    [InlineData("ActorEvents__Node__Port", true)]
    [InlineData("ActorEvents__Node__SeedNodes__2", true)]
    [InlineData("ActorEvents__Pipeline__Retry__MaxRetries", true)]
    [InlineData("ActorEvents__Node__Prot", false)]
    [InlineData("ActorEvents__Operations__Port", true)]
    [InlineData("ActorEvents__Operations__Prot", false)]
    [InlineData("ActorEvents__Persistance__Provider", false)]
    [InlineData("ActorEvents__Node__SeedNodes__x", false)]
    [InlineData("Sample__Loyalty__SuspendedCustomers", true)]
    [InlineData("Logging__LogLevel__Default", true)]
    [InlineData("ActorEvents__Broker__Uri", true)]
    [InlineData("ActorEvents__Broker__Urii", false)]
    [InlineData("SOMETHING_ELSE", false)]
    public void Should_tell_keys_the_host_reads_from_typos(string key, bool read) => Assert.Equal(read, IsReadByTheHost(key));

    private static bool IsReadByTheHost(string key)
    {
        var parts = key.Split("__");
        return parts[0] switch
        {
            ActorEventsOptions.SectionName when parts.Length > 1 && parts[1] == "Operations" => IsProperty(typeof(OperationsOptions), parts[2..]),
            ActorEventsOptions.SectionName when parts.Length > 1 && parts[1] == "Broker" => IsProperty(typeof(ActorEvents.Broker.BrokerOptions), parts[2..]),
            ActorEventsOptions.SectionName => IsProperty(typeof(ActorEventsOptions), parts[1..]),
            "Sample" => parts.Length == 3 && parts[1] == "Loyalty" && IsProperty(typeof(LoyaltyOptions), parts[2..]),
            "Logging" => parts.Length >= 3 && parts[1] == "LogLevel",
            _ => false,
        };
    }

    /// <summary>Walks the options type like the configuration binder does (case-insensitive; numeric indexes into arrays and lists).</summary>
    private static bool IsProperty(Type type, ReadOnlySpan<string> path)
    {
        if (path.IsEmpty)
        {
            return true;
        }

        if (type != typeof(string) && typeof(IEnumerable).IsAssignableFrom(type))
        {
            var element = type.IsArray ? type.GetElementType()! : type.GetGenericArguments().Single();
            return int.TryParse(path[0], out _) && IsProperty(element, path[1..]);
        }

        var property = type.GetProperty(path[0], BindingFlags.Public | BindingFlags.Instance | BindingFlags.IgnoreCase);
        return property is { CanWrite: true } && IsProperty(property.PropertyType, path[1..]);
    }

    private static IEnumerable<(string Name, YamlMappingNode Service)> NodeServices() =>
        Services.Children
            .Where(s => ((YamlMappingNode)s.Value).Children.TryGetValue("image", out var image) && image.ToString().StartsWith("actor-events", StringComparison.Ordinal))
            .Select(s => (s.Key.ToString(), (YamlMappingNode)s.Value));

    private static Dictionary<string, string> Environment(YamlMappingNode service) =>
        ((YamlMappingNode)service.Children["environment"]).Children.ToDictionary(e => e.Key.ToString(), e => e.Value.ToString());

    private static int? Tool(string file, params string[] arguments)
    {
        try
        {
            var start = new System.Diagnostics.ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var argument in arguments)
            {
                start.ArgumentList.Add(argument);
            }

            using var process = System.Diagnostics.Process.Start(start)!;
            process.StandardOutput.ReadToEnd();
            process.StandardError.ReadToEnd();
            process.WaitForExit();
            return process.ExitCode;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null; // not installed
        }
    }

    private static string RepositoryRoot()
    {
        var folder = new DirectoryInfo(AppContext.BaseDirectory);
        while (folder is not null && !File.Exists(Path.Combine(folder.FullName, "ActorEvents.sln")))
        {
            folder = folder.Parent;
        }

        return folder?.FullName ?? throw new InvalidOperationException("Repository root not found.");
    }

    private static YamlMappingNode LoadServices()
    {
        var path = Path.Combine(RepositoryRoot(), "docker-compose.yml");
        var yaml = new YamlStream();
        using var reader = new StreamReader(path);
        yaml.Load(reader);
        return (YamlMappingNode)((YamlMappingNode)yaml.Documents[0].RootNode).Children["services"];
    }
}
