using ActorEvents.Host.Cli;

return await HostCommandLine.InvokeAsync(args);
