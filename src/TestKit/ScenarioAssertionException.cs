namespace ActorEvents.TestKit;

/// <summary>
/// A given/when/then expectation that did not hold. Test frameworks report it as a failed test (it is an ordinary
/// exception, so the kit works with xUnit, NUnit or MSTest alike).
/// </summary>
public sealed class ScenarioAssertionException(string message) : Exception(message);
