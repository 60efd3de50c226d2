using System.Reflection;

namespace Uld.LogitServer.Deployments;

/// <summary>
/// Finds the full key of a setting no options property has. The binder (<c>ErrorOnUnknownConfiguration</c>) refuses
/// such keys but names only the property and the type; an operator needs the key as written, with its list index.
/// </summary>
public static class UnknownSettings
{
    public static string? FirstUnknownKey(IConfigurationSection section, Type type)
    {
        foreach (var child in section.GetChildren())
        {
            var property = type.GetProperty(child.Key, BindingFlags.Public | BindingFlags.Instance | BindingFlags.IgnoreCase);
            if (property is null) return child.Path;
            var propertyType = property.PropertyType;
            var element = propertyType.IsGenericType && propertyType.GetGenericTypeDefinition() == typeof(List<>) ? propertyType.GetGenericArguments()[0] : null;
            if (element is { IsClass: true } && element != typeof(string))
            {
                foreach (var item in child.GetChildren())
                {
                    if (FirstUnknownKey(item, element) is { } key) return key;
                }
            }
        }
        return null;
    }
}
