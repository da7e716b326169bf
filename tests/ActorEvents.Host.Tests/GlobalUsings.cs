global using ActorEvents.Host.Tests.Infrastructure;
global using ActorEvents.TestKit;
global using ActorEvents.Tests.Infrastructure;
global using Xunit;
