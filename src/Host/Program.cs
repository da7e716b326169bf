using ActorEvents.Actors.Mediator;
using ActorEvents.Host;
using ActorEvents.Host.Domain.Inventory;
using Microsoft.Extensions.DependencyInjection;

var builder = NodeHost.CreateBuilder(args);
using var host = builder.Build();
await host.StartAsync();
var client = host.Services.GetRequiredService<IActorEventsClient>();
Console.WriteLine(await client.SendAsync(new AddStock("sku-1", 10)));
Console.WriteLine(await client.SendAsync(new ReduceStock("sku-1", 100, "o1")));
Console.WriteLine(await client.SendAsync(new ReduceStock("nope", 1, "o1")));
await host.StopAsync();
