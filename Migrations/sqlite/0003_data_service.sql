-- The data service (IDS): where each datafile's bytes are, what is being uploaded, what is left to remove, which
-- datasets are archived, and prepared selections. The catalog's own tables are untouched; triggers on them keep
-- these consistent in the same transaction as the catalog's writes.

-- Bytes being written: a row is written before the first byte is stored, completed (size, checksums) once all are
-- stored, and moved to "ids_object" by the Datafile's INSERT (an upload) or deleted as its key is recorded (a copy
-- between tiers). A row its server no longer touches is a write that died: the sweeper removes its bytes.
CREATE TABLE "ids_upload" ("location" TEXT PRIMARY KEY, "tier" TEXT NOT NULL DEFAULT 'main', "owner" TEXT NOT NULL, "touched" INTEGER NOT NULL, "size" INTEGER, "crc32" INTEGER, "sha256" TEXT);

-- The stored bytes of a datafile: on the main store at "location", and on the archive tier at "archive_location".
CREATE TABLE "ids_object" ("datafile_id" INTEGER PRIMARY KEY, "location" TEXT, "archive_location" TEXT, "size" INTEGER NOT NULL, "crc32" INTEGER NOT NULL, "sha256" TEXT NOT NULL);

-- Bytes no datafile refers to any more, to be removed from their tier ("main" or "archive") by the sweeper.
CREATE TABLE "ids_orphan" ("id" INTEGER PRIMARY KEY AUTOINCREMENT, "tier" TEXT NOT NULL, "location" TEXT NOT NULL);

-- Datasets not online: ARCHIVED (bytes only on the archive tier) or RESTORING. No row: ONLINE.
CREATE TABLE "ids_dataset_state" ("dataset_id" INTEGER PRIMARY KEY, "state" TEXT NOT NULL);

-- Selections prepared for a later getData, with the session that prepared them (checked again on download).
CREATE TABLE "ids_prepared" ("prepared_id" TEXT PRIMARY KEY, "session_id" TEXT NOT NULL, "investigation_ids" TEXT NOT NULL, "dataset_ids" TEXT NOT NULL, "datafile_ids" TEXT NOT NULL, "zip" INTEGER NOT NULL, "compress" INTEGER NOT NULL, "created" INTEGER NOT NULL);

CREATE TRIGGER "datafile_insert_claims_upload" AFTER INSERT ON "datafile" WHEN NEW."location" IS NOT NULL BEGIN INSERT INTO "ids_object" ("datafile_id", "location", "size", "crc32", "sha256") SELECT NEW."id", "location", "size", "crc32", "sha256" FROM "ids_upload" WHERE "location" = NEW."location" AND "size" IS NOT NULL AND "tier" = 'main'; DELETE FROM "ids_upload" WHERE "location" = NEW."location" AND "size" IS NOT NULL AND "tier" = 'main'; END;

CREATE TRIGGER "datafile_delete_orphans_bytes" AFTER DELETE ON "datafile" BEGIN INSERT INTO "ids_orphan" ("tier", "location") SELECT 'main', "location" FROM "ids_object" WHERE "datafile_id" = OLD."id" AND "location" IS NOT NULL; INSERT INTO "ids_orphan" ("tier", "location") SELECT 'archive', "archive_location" FROM "ids_object" WHERE "datafile_id" = OLD."id" AND "archive_location" IS NOT NULL; DELETE FROM "ids_object" WHERE "datafile_id" = OLD."id"; END;

CREATE TRIGGER "dataset_delete_forgets_state" AFTER DELETE ON "dataset" BEGIN DELETE FROM "ids_dataset_state" WHERE "dataset_id" = OLD."id"; END;
