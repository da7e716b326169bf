using ActorEvents.Broker.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace ActorEvents.Broker;

/// <summary>Registers the broker integration's services.</summary>
public static class BrokerHostingExtensions
{
    /// <summary>
    /// Binds <see cref="BrokerOptions"/> from <c>ActorEvents:Broker</c> and registers the node's connection, statistics and
    /// the hosted service that starts the subscribers (and the desk that replays their dead letters). The publisher
    /// subscription itself comes from <see cref="BrokerDomainExtensions.UseBroker"/>. Call after <c>AddActorEvents</c>.
    /// </summary>
    public static IServiceCollection AddActorEventsBroker(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<BrokerOptions>().Bind(configuration.GetSection(BrokerOptions.SectionName)).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<BrokerConnection>();
        services.AddSingleton<BrokerStatistics>();
        services.AddHostedService<BrokerSubscribersService>();
        return services;
    }
}
