global using ActorEvents.TestKit;
global using Xunit;
