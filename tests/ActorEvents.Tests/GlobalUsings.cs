global using ActorEvents.TestKit;
global using ActorEvents.Tests.Infrastructure;
global using Xunit;
