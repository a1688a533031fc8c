import CatalogSQL

// The hand-written walk: what a developer would write for "the nodes within `depth` job hops of this dataset",
// for PostgreSQL, without the catalog. One recursive CTE over (kind, id, depth), each step a LATERAL union of the
// edge tables for the kind of node at hand (1 dataset, 2 datafile, 3 job), each branch an index lookup; a step
// onto a job costs one hop; then each node once, at its least depth, with its name. No rules, no edges returned.

/// The steps from a node of the walk `w` to its neighbours `(kind, id)`, with (downstream) or against (upstream)
/// the flow of data.
private func neighbours(downstream: Bool) -> SQLFragment {
    if downstream {
        return """
            SELECT 3, x."job_id" FROM "input_dataset" x WHERE w."kind" = 1 AND x."dataset_id" = w."id"
            UNION ALL SELECT 3, j."id" FROM "data_collection_dataset" c
                JOIN "job" j ON j."input_data_collection_id" = c."data_collection_id"
                WHERE w."kind" = 1 AND c."dataset_id" = w."id"
            UNION ALL SELECT 3, x."job_id" FROM "input_datafile" x WHERE w."kind" = 2 AND x."datafile_id" = w."id"
            UNION ALL SELECT 3, j."id" FROM "data_collection_datafile" c
                JOIN "job" j ON j."input_data_collection_id" = c."data_collection_id"
                WHERE w."kind" = 2 AND c."datafile_id" = w."id"
            UNION ALL SELECT 2, r."dest_datafile_id" FROM "related_datafile" r
                WHERE w."kind" = 2 AND r."source_datafile_id" = w."id"
            UNION ALL SELECT 1, x."dataset_id" FROM "output_dataset" x WHERE w."kind" = 3 AND x."job_id" = w."id"
            UNION ALL SELECT 2, x."datafile_id" FROM "output_datafile" x WHERE w."kind" = 3 AND x."job_id" = w."id"
            UNION ALL SELECT 1, c."dataset_id" FROM "job" j
                JOIN "data_collection_dataset" c ON c."data_collection_id" = j."output_data_collection_id"
                WHERE w."kind" = 3 AND j."id" = w."id"
            UNION ALL SELECT 2, c."datafile_id" FROM "job" j
                JOIN "data_collection_datafile" c ON c."data_collection_id" = j."output_data_collection_id"
                WHERE w."kind" = 3 AND j."id" = w."id"
            """
    }
    return """
        SELECT 3, x."job_id" FROM "output_dataset" x WHERE w."kind" = 1 AND x."dataset_id" = w."id"
        UNION ALL SELECT 3, j."id" FROM "data_collection_dataset" c
            JOIN "job" j ON j."output_data_collection_id" = c."data_collection_id"
            WHERE w."kind" = 1 AND c."dataset_id" = w."id"
        UNION ALL SELECT 3, x."job_id" FROM "output_datafile" x WHERE w."kind" = 2 AND x."datafile_id" = w."id"
        UNION ALL SELECT 3, j."id" FROM "data_collection_datafile" c
            JOIN "job" j ON j."output_data_collection_id" = c."data_collection_id"
            WHERE w."kind" = 2 AND c."datafile_id" = w."id"
        UNION ALL SELECT 2, r."source_datafile_id" FROM "related_datafile" r
            WHERE w."kind" = 2 AND r."dest_datafile_id" = w."id"
        UNION ALL SELECT 1, x."dataset_id" FROM "input_dataset" x WHERE w."kind" = 3 AND x."job_id" = w."id"
        UNION ALL SELECT 2, x."datafile_id" FROM "input_datafile" x WHERE w."kind" = 3 AND x."job_id" = w."id"
        UNION ALL SELECT 1, c."dataset_id" FROM "job" j
            JOIN "data_collection_dataset" c ON c."data_collection_id" = j."input_data_collection_id"
            WHERE w."kind" = 3 AND j."id" = w."id"
        UNION ALL SELECT 2, c."datafile_id" FROM "job" j
            JOIN "data_collection_datafile" c ON c."data_collection_id" = j."input_data_collection_id"
            WHERE w."kind" = 3 AND j."id" = w."id"
        """
}

/// The hand-written walk from dataset `start`: rows (kind, id, least depth, name).
func handWrittenWalk(start: Int64, downstream: Bool, depth: Int) -> SQLFragment {
    """
    WITH RECURSIVE w ("kind", "id", "depth") AS (
        SELECT 1, CAST(\(start) AS BIGINT), 0
        UNION
        SELECT n."kind", n."id", w."depth" + CASE WHEN n."kind" = 3 THEN 1 ELSE 0 END
        FROM w CROSS JOIN LATERAL (\(neighbours(downstream: downstream))) n ("kind", "id")
        WHERE w."depth" + CASE WHEN n."kind" = 3 THEN 1 ELSE 0 END <= \(Int64(depth))
    )
    SELECT n."kind", n."id", n."depth", coalesce(ds."name", df."name", a."name" || ' ' || a."version")
    FROM (SELECT "kind", "id", min("depth") AS "depth" FROM w GROUP BY "kind", "id") n
    LEFT JOIN "dataset" ds ON n."kind" = 1 AND ds."id" = n."id"
    LEFT JOIN "datafile" df ON n."kind" = 2 AND df."id" = n."id"
    LEFT JOIN "job" j ON n."kind" = 3 AND j."id" = n."id"
    LEFT JOIN "application" a ON a."id" = j."application_id"
    """
}
