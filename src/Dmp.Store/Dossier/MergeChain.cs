using Dmp.Store.Sql;

namespace Dmp.Store.Dossier;

/// <summary>
/// The one walk from a patient to the patient an A40 merge kept for it, shared by the apply, the API and the
/// identifier lookup, so a dossier the apply reached is one the API serves: a recursive query (the same text on
/// every dialect but the dialect's row limit and recursive keyword) that follows <c>patient.merged_into</c> at most <see cref="MaxHops"/> links.
/// </summary>
internal static class MergeChain
{
    /// <summary>
    /// How many merge links are followed; a longer chain, a dangling link or a cycle resolves to no patient (a bug
    /// upstream: the apply points every merged patient straight at its survivor).
    /// </summary>
    public const int MaxHops = 16;

    /// <summary>
    /// A statement whose result is the survivor's <see cref="PatientRecord"/> (no row when none): <paramref name="start"/>
    /// is a scalar subquery giving the patient id the walk starts from. Built once per dialect (<see cref="DossierStatements"/>).
    /// </summary>
    public static string SurvivorSql(SqlDialect dialect, string start) =>
        $"""
        {dialect.WithRecursive} chain (id, merged_into, hops) AS (
            SELECT id, merged_into, 0 FROM patient WHERE id = ({start})
            UNION ALL
            SELECT p.id, p.merged_into, c.hops + 1 FROM chain c JOIN patient p ON p.id = c.merged_into WHERE c.hops < {MaxHops}
        )
        SELECT {DossierQueries.PatientColumns} FROM patient
        WHERE id = (SELECT id FROM chain WHERE merged_into IS NULL ORDER BY hops{dialect.Limit("1")});
        """;
}
