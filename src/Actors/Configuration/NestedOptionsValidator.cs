using System.ComponentModel.DataAnnotations;
using System.Reflection;
using Microsoft.Extensions.Options;

namespace ActorEvents.Actors.Configuration;

/// <summary>
/// Runs the data-annotation attributes of every nested settings object of <see cref="ActorEventsOptions"/>
/// (<c>ValidateDataAnnotations()</c> only checks the top-level properties, so e.g. a
/// <c>[Range]</c> on <see cref="MediatorOptions.MaxCommandBytes"/> would otherwise never be enforced).
/// </summary>
public sealed class NestedOptionsValidator : IValidateOptions<ActorEventsOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, ActorEventsOptions options)
    {
        var failures = new List<string>();
        Collect(options, ActorEventsOptions.SectionName, failures, depth: 0);
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void Collect(object settings, string path, List<string> failures, int depth)
    {
        var results = new List<ValidationResult>();
        if (!Validator.TryValidateObject(settings, new ValidationContext(settings), results, validateAllProperties: true))
        {
            failures.AddRange(results.Select(r => $"{path}:{string.Join(",", r.MemberNames)}: {r.ErrorMessage}"));
        }

        if (depth >= 4)
        {
            return;
        }

        foreach (var property in settings.GetType().GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (property.GetIndexParameters().Length == 0
                && property.PropertyType.IsClass
                && property.PropertyType.Namespace == typeof(ActorEventsOptions).Namespace
                && property.GetValue(settings) is { } nested)
            {
                Collect(nested, $"{path}:{property.Name}", failures, depth + 1);
            }
        }
    }
}
