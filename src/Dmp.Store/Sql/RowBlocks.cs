namespace Dmp.Store.Sql;

/// <summary>
/// Rows written by multi-row statements of a few fixed sizes, largest first, so that any count of rows runs a few
/// statement texts only (SQLite keeps each compiled, a server plans each shape once).
/// </summary>
internal static class RowBlocks
{
    /// <summary>The blocks covering rows 0 … <paramref name="count"/> - 1, as (first row, rows); <paramref name="sizes"/> end with 1.</summary>
    public static IEnumerable<(int Start, int Size)> Of(int count, IReadOnlyList<int> sizes)
    {
        var start = 0;
        foreach (var size in sizes)
        {
            for (; count - start >= size; start += size)
            {
                yield return (start, size);
            }
        }
    }
}
