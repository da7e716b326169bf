using System.Globalization;

namespace ActorEvents.Actors.Mediator;

/// <summary>
/// What an aggregate id may be: every accepted id names exactly one stream. Ids whose text could collide with another's
/// once encoded (lone surrogates become U+FFFD in UTF-8), or that look identical to another id (zero-width and bidi
/// format characters, surrounding whitespace), are refused.
/// </summary>
public static class AggregateIds
{
    /// <summary>Why <paramref name="id"/> is not a valid aggregate id, or null when it is.</summary>
    /// <param name="id">The id.</param>
    /// <param name="maxLength">The longest id accepted, in UTF-16 code units.</param>
    public static string? Problem(string? id, int maxLength)
    {
        if (string.IsNullOrWhiteSpace(id))
        {
            return "The aggregate id is empty.";
        }

        if (id.Length > maxLength)
        {
            return $"The aggregate id is {id.Length} characters long; at most {maxLength} are allowed.";
        }

        if (char.IsWhiteSpace(id[0]) || char.IsWhiteSpace(id[^1]))
        {
            return "The aggregate id starts or ends with whitespace.";
        }

        for (var i = 0; i < id.Length; i++)
        {
            var c = id[i];
            if (char.IsHighSurrogate(c) && i + 1 < id.Length && char.IsLowSurrogate(id[i + 1]))
            {
                i++; // a well-formed pair: one character outside the basic plane
                continue;
            }

            if (char.IsSurrogate(c))
            {
                return $"The aggregate id contains a lone surrogate (U+{(int)c:X4} at {i}): it is not valid Unicode and would collide with other ids once encoded.";
            }

            if (c == '\uFFFD')
            {
                return $"The aggregate id contains the replacement character U+FFFD (at {i}), a sign of text that was decoded wrongly.";
            }

            if (char.IsControl(c))
            {
                return "The aggregate id contains control characters.";
            }

            if (CharUnicodeInfo.GetUnicodeCategory(c) == UnicodeCategory.Format)
            {
                return $"The aggregate id contains an invisible format character (U+{(int)c:X4} at {i}: zero-width or bidi control), so it could look identical to another id.";
            }
        }

        return null;
    }

    /// <summary>Why <paramref name="name"/> is not a valid aggregate name, or null: ASCII letters, digits, '_' and '.' only.</summary>
    /// <remarks>The '-' is the separator of a stream name (<c>{aggregate}-{id}</c>), so a name with it could collide: (a, b-1) and (a-b, 1).</remarks>
    public static string? NameProblem(string? name)
    {
        if (string.IsNullOrEmpty(name))
        {
            return "An aggregate's Name is empty.";
        }

        return name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '.')
            ? null
            : $"The aggregate name '{name}' may hold only ASCII letters, digits, '_' and '.': '-' separates the name from the id in a stream name, so '{name}' could share a stream with another aggregate.";
    }
}
