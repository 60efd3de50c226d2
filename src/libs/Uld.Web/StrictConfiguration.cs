using System.Collections;
using System.Reflection;
using Microsoft.Extensions.Configuration;

namespace Uld.Web;

/// <summary>
/// Binds an options section so that a misspelt key stops start-up instead of being ignored: a key that names no
/// property (e.g. <c>Gateway:ApiKeys:0:Models</c> for <c>AllowedModels</c>) would otherwise silently leave a default
/// in force. The binder's own check (<see cref="BinderOptions.ErrorOnUnknownConfiguration"/>) names only the property,
/// so the section is first walked against the options type to report the full configuration path.
/// </summary>
public static class StrictConfiguration
{
    public static T Bind<T>(IConfigurationSection section) where T : new()
    {
        var unknown = UnknownKeys(section, typeof(T)).ToList();
        if (unknown.Count > 0)
            throw new InvalidOperationException($"unknown configuration key{(unknown.Count > 1 ? "s" : "")} {string.Join(", ", unknown)}.");
        return section.Get<T>(o => o.ErrorOnUnknownConfiguration = true) ?? new T();
    }

    public static void ConfigureBinder(BinderOptions options) => options.ErrorOnUnknownConfiguration = true;

    /// <summary>Full paths of the keys under <paramref name="section"/> that bind to nothing on <paramref name="type"/>.</summary>
    public static IEnumerable<string> UnknownKeys(IConfigurationSection section, Type type)
    {
        foreach (var child in section.GetChildren())
        {
            var childType = MemberType(type, child.Key);
            if (childType is null) yield return child.Path;
            else foreach (var path in UnknownKeys(child, childType)) yield return path;
        }
    }

    /// <summary>The type a child key binds to: a dictionary's value, a list's element, or a property; null if none.</summary>
    private static Type? MemberType(Type type, string key)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        if (type == typeof(string) || type.IsPrimitive || type.IsEnum || type == typeof(TimeSpan) || type == typeof(decimal)) return null;
        var dictionary = type.GetInterfaces().Append(type).FirstOrDefault(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IDictionary<,>));
        if (dictionary is not null) return dictionary.GetGenericArguments()[1];
        if (typeof(IEnumerable).IsAssignableFrom(type))
        {
            var element = type.IsArray ? type.GetElementType() : type.GetGenericArguments().FirstOrDefault();
            return int.TryParse(key, out _) ? element : null;
        }
        return type.GetProperty(key, BindingFlags.Public | BindingFlags.Instance | BindingFlags.IgnoreCase)?.PropertyType;
    }
}
