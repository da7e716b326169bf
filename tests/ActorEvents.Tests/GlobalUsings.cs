global using Xunit;
global using ActorEvents.TestKit;
