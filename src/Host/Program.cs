Console.WriteLine(ActorEvents.Actors.X.Y);
