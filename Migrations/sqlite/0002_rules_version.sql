-- Authorization: a version that every change of rules, public steps, groupings, group members or users moves on,
-- so that each server knows when its compiled rules are stale.

CREATE TABLE "icat_rules_version" ("id" INTEGER PRIMARY KEY, "version" INTEGER NOT NULL);

INSERT INTO "icat_rules_version" ("id", "version") VALUES (1, 0);

CREATE TRIGGER "rule_insert_changes_rules_version" AFTER INSERT ON "rule" BEGIN UPDATE "icat_rules_version" SET "version" = "version" + 1 WHERE "id" = 1; END;
CREATE TRIGGER "rule_update_changes_rules_version" AFTER UPDATE ON "rule" BEGIN UPDATE "icat_rules_version" SET "version" = "version" + 1 WHERE "id" = 1; END;
CREATE TRIGGER "rule_delete_changes_rules_version" AFTER DELETE ON "rule" BEGIN UPDATE "icat_rules_version" SET "version" = "version" + 1 WHERE "id" = 1; END;

CREATE TRIGGER "public_step_insert_changes_rules_version" AFTER INSERT ON "public_step" BEGIN UPDATE "icat_rules_version" SET "version" = "version" + 1 WHERE "id" = 1; END;
CREATE TRIGGER "public_step_update_changes_rules_version" AFTER UPDATE ON "public_step" BEGIN UPDATE "icat_rules_version" SET "version" = "version" + 1 WHERE "id" = 1; END;
CREATE TRIGGER "public_step_delete_changes_rules_version" AFTER DELETE ON "public_step" BEGIN UPDATE "icat_rules_version" SET "version" = "version" + 1 WHERE "id" = 1; END;

CREATE TRIGGER "grouping_insert_changes_rules_version" AFTER INSERT ON "grouping" BEGIN UPDATE "icat_rules_version" SET "version" = "version" + 1 WHERE "id" = 1; END;
CREATE TRIGGER "grouping_update_changes_rules_version" AFTER UPDATE ON "grouping" BEGIN UPDATE "icat_rules_version" SET "version" = "version" + 1 WHERE "id" = 1; END;
CREATE TRIGGER "grouping_delete_changes_rules_version" AFTER DELETE ON "grouping" BEGIN UPDATE "icat_rules_version" SET "version" = "version" + 1 WHERE "id" = 1; END;

CREATE TRIGGER "user_group_insert_changes_rules_version" AFTER INSERT ON "user_group" BEGIN UPDATE "icat_rules_version" SET "version" = "version" + 1 WHERE "id" = 1; END;
CREATE TRIGGER "user_group_update_changes_rules_version" AFTER UPDATE ON "user_group" BEGIN UPDATE "icat_rules_version" SET "version" = "version" + 1 WHERE "id" = 1; END;
CREATE TRIGGER "user_group_delete_changes_rules_version" AFTER DELETE ON "user_group" BEGIN UPDATE "icat_rules_version" SET "version" = "version" + 1 WHERE "id" = 1; END;

CREATE TRIGGER "user_insert_changes_rules_version" AFTER INSERT ON "user" BEGIN UPDATE "icat_rules_version" SET "version" = "version" + 1 WHERE "id" = 1; END;
CREATE TRIGGER "user_update_changes_rules_version" AFTER UPDATE ON "user" BEGIN UPDATE "icat_rules_version" SET "version" = "version" + 1 WHERE "id" = 1; END;
CREATE TRIGGER "user_delete_changes_rules_version" AFTER DELETE ON "user" BEGIN UPDATE "icat_rules_version" SET "version" = "version" + 1 WHERE "id" = 1; END;
