-- Generated from Schema/icat.yaml (ICAT 6.2) by `icat migrations generate`. Do not edit:
-- change the schema and regenerate, or add a new numbered migration once this one has shipped.

CREATE TABLE "data_collection" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT,
    "create_id" TEXT NOT NULL,
    "create_time" TEXT NOT NULL,
    "mod_id" TEXT NOT NULL,
    "mod_time" TEXT NOT NULL,
    "doi" TEXT
);

CREATE TABLE "facility" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT,
    "create_id" TEXT NOT NULL,
    "create_time" TEXT NOT NULL,
    "mod_id" TEXT NOT NULL,
    "mod_time" TEXT NOT NULL,
    "days_until_release" INTEGER,
    "description" TEXT,
    "full_name" TEXT,
    "name" TEXT NOT NULL,
    "url" TEXT,
    CONSTRAINT "uq_facility_0" UNIQUE ("name")
);

CREATE TABLE "data_publication_type" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT,
    "create_id" TEXT NOT NULL,
    "create_time" TEXT NOT NULL,
    "mod_id" TEXT NOT NULL,
    "mod_time" TEXT NOT NULL,
    "description" TEXT,
    "name" TEXT NOT NULL,
    "facility_id" INTEGER NOT NULL CONSTRAINT "fk_data_publication_type_facility_id" REFERENCES "facility" ("id") ON DELETE CASCADE,
    CONSTRAINT "uq_data_publication_type_0" UNIQUE ("facility_id", "name")
);

CREATE TABLE "data_publication" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT,
    "create_id" TEXT NOT NULL,
    "create_time" TEXT NOT NULL,
    "mod_id" TEXT NOT NULL,
    "mod_time" TEXT NOT NULL,
    "description" TEXT,
    "internal_id" TEXT,
    "pid" TEXT NOT NULL,
    "publication_date" TEXT,
    "subject" TEXT,
    "title" TEXT NOT NULL,
    "content_id" INTEGER NOT NULL CONSTRAINT "fk_data_publication_content_id" REFERENCES "data_collection" ("id") ON DELETE CASCADE,
    "facility_id" INTEGER NOT NULL CONSTRAINT "fk_data_publication_facility_id" REFERENCES "facility" ("id") ON DELETE CASCADE,
    "type_id" INTEGER CONSTRAINT "fk_data_publication_type_id" REFERENCES "data_publication_type" ("id") ON DELETE CASCADE,
    CONSTRAINT "uq_data_publication_0" UNIQUE ("facility_id", "pid")
);

CREATE TABLE "user" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT,
    "create_id" TEXT NOT NULL,
    "create_time" TEXT NOT NULL,
    "mod_id" TEXT NOT NULL,
    "mod_time" TEXT NOT NULL,
    "affiliation" TEXT,
    "email" TEXT,
    "family_name" TEXT,
    "full_name" TEXT,
    "given_name" TEXT,
    "name" TEXT NOT NULL,
    "orcid_id" TEXT,
    CONSTRAINT "uq_user_0" UNIQUE ("name")
);

CREATE TABLE "data_publication_user" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT,
    "create_id" TEXT NOT NULL,
    "create_time" TEXT NOT NULL,
    "mod_id" TEXT NOT NULL,
    "mod_time" TEXT NOT NULL,
    "contributor_type" TEXT NOT NULL,
    "email" TEXT,
    "family_name" TEXT,
    "full_name" TEXT,
    "given_name" TEXT,
    "order_key" TEXT,
    "publication_id" INTEGER NOT NULL CONSTRAINT "fk_data_publication_user_publication_id" REFERENCES "data_publication" ("id") ON DELETE CASCADE,
    "user_id" INTEGER NOT NULL CONSTRAINT "fk_data_publication_user_user_id" REFERENCES "user" ("id") ON DELETE CASCADE,
    CONSTRAINT "uq_data_publication_user_0" UNIQUE ("publication_id", "user_id", "contributor_type")
);

CREATE TABLE "affiliation" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT,
    "create_id" TEXT NOT NULL,
    "create_time" TEXT NOT NULL,
    "mod_id" TEXT NOT NULL,
    "mod_time" TEXT NOT NULL,
    "full_reference" TEXT,
    "name" TEXT NOT NULL,
    "pid" TEXT,
    "user_id" INTEGER NOT NULL CONSTRAINT "fk_affiliation_user_id" REFERENCES "data_publication_user" ("id") ON DELETE CASCADE,
    CONSTRAINT "uq_affiliation_0" UNIQUE ("user_id", "name")
);

CREATE TABLE "application" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT,
    "create_id" TEXT NOT NULL,
    "create_time" TEXT NOT NULL,
    "mod_id" TEXT NOT NULL,
    "mod_time" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "version" TEXT NOT NULL,
    "facility_id" INTEGER NOT NULL CONSTRAINT "fk_application_facility_id" REFERENCES "facility" ("id") ON DELETE CASCADE,
    CONSTRAINT "uq_application_0" UNIQUE ("facility_id", "name", "version")
);

CREATE TABLE "datafile_format" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT,
    "create_id" TEXT NOT NULL,
    "create_time" TEXT NOT NULL,
    "mod_id" TEXT NOT NULL,
    "mod_time" TEXT NOT NULL,
    "description" TEXT,
    "name" TEXT NOT NULL,
    "type" TEXT,
    "version" TEXT NOT NULL,
    "facility_id" INTEGER NOT NULL CONSTRAINT "fk_datafile_format_facility_id" REFERENCES "facility" ("id") ON DELETE CASCADE,
    CONSTRAINT "uq_datafile_format_0" UNIQUE ("facility_id", "name", "version")
);

CREATE TABLE "investigation_type" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT,
    "create_id" TEXT NOT NULL,
    "create_time" TEXT NOT NULL,
    "mod_id" TEXT NOT NULL,
    "mod_time" TEXT NOT NULL,
    "description" TEXT,
    "name" TEXT NOT NULL,
    "facility_id" INTEGER NOT NULL CONSTRAINT "fk_investigation_type_facility_id" REFERENCES "facility" ("id") ON DELETE CASCADE,
    CONSTRAINT "uq_investigation_type_0" UNIQUE ("name", "facility_id")
);

CREATE TABLE "investigation" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT,
    "create_id" TEXT NOT NULL,
    "create_time" TEXT NOT NULL,
    "mod_id" TEXT NOT NULL,
    "mod_time" TEXT NOT NULL,
    "doi" TEXT,
    "end_date" TEXT,
    "file_count" INTEGER,
    "file_size" INTEGER,
    "name" TEXT NOT NULL,
    "release_date" TEXT,
    "start_date" TEXT,
    "summary" TEXT,
    "title" TEXT NOT NULL,
    "visit_id" TEXT NOT NULL,
    "facility_id" INTEGER NOT NULL CONSTRAINT "fk_investigation_facility_id" REFERENCES "facility" ("id") ON DELETE CASCADE,
    "type_id" INTEGER NOT NULL CONSTRAINT "fk_investigation_type_id" REFERENCES "investigation_type" ("id") ON DELETE CASCADE,
    CONSTRAINT "uq_investigation_0" UNIQUE ("facility_id", "name", "visit_id")
);

CREATE TABLE "sample_type" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT,
    "create_id" TEXT NOT NULL,
    "create_time" TEXT NOT NULL,
    "mod_id" TEXT NOT NULL,
    "mod_time" TEXT NOT NULL,
    "molecular_formula" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "safety_information" TEXT,
    "facility_id" INTEGER NOT NULL CONSTRAINT "fk_sample_type_facility_id" REFERENCES "facility" ("id") ON DELETE CASCADE,
    CONSTRAINT "uq_sample_type_0" UNIQUE ("facility_id", "name", "molecular_formula")
);

CREATE TABLE "sample" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT,
    "create_id" TEXT NOT NULL,
    "create_time" TEXT NOT NULL,
    "mod_id" TEXT NOT NULL,
    "mod_time" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "pid" TEXT,
    "investigation_id" INTEGER NOT NULL CONSTRAINT "fk_sample_investigation_id" REFERENCES "investigation" ("id") ON DELETE CASCADE,
    "type_id" INTEGER CONSTRAINT "fk_sample_type_id" REFERENCES "sample_type" ("id") ON DELETE CASCADE,
    CONSTRAINT "uq_sample_0" UNIQUE ("investigation_id", "name")
);

CREATE TABLE "dataset_type" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT,
    "create_id" TEXT NOT NULL,
    "create_time" TEXT NOT NULL,
    "mod_id" TEXT NOT NULL,
    "mod_time" TEXT NOT NULL,
    "description" TEXT,
    "name" TEXT NOT NULL,
    "facility_id" INTEGER NOT NULL CONSTRAINT "fk_dataset_type_facility_id" REFERENCES "facility" ("id") ON DELETE CASCADE,
    CONSTRAINT "uq_dataset_type_0" UNIQUE ("facility_id", "name")
);

CREATE TABLE "dataset" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT,
    "create_id" TEXT NOT NULL,
    "create_time" TEXT NOT NULL,
    "mod_id" TEXT NOT NULL,
    "mod_time" TEXT NOT NULL,
    "complete" INTEGER NOT NULL,
    "description" TEXT,
    "doi" TEXT,
    "end_date" TEXT,
    "file_count" INTEGER,
    "file_size" INTEGER,
    "location" TEXT,
    "name" TEXT NOT NULL,
    "start_date" TEXT,
    "investigation_id" INTEGER NOT NULL CONSTRAINT "fk_dataset_investigation_id" REFERENCES "investigation" ("id") ON DELETE CASCADE,
    "sample_id" INTEGER CONSTRAINT "fk_dataset_sample_id" REFERENCES "sample" ("id") ON DELETE CASCADE,
    "type_id" INTEGER NOT NULL CONSTRAINT "fk_dataset_type_id" REFERENCES "dataset_type" ("id") ON DELETE CASCADE,
    CONSTRAINT "uq_dataset_0" UNIQUE ("investigation_id", "name")
);

CREATE TABLE "datafile" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT,
    "create_id" TEXT NOT NULL,
    "create_time" TEXT NOT NULL,
    "mod_id" TEXT NOT NULL,
    "mod_time" TEXT NOT NULL,
    "checksum" TEXT,
    "datafile_create_time" TEXT,
    "datafile_mod_time" TEXT,
    "description" TEXT,
    "doi" TEXT,
    "file_size" INTEGER,
    "location" TEXT,
    "name" TEXT NOT NULL,
    "datafile_format_id" INTEGER CONSTRAINT "fk_datafile_datafile_format_id" REFERENCES "datafile_format" ("id") ON DELETE CASCADE,
    "dataset_id" INTEGER NOT NULL CONSTRAINT "fk_datafile_dataset_id" REFERENCES "dataset" ("id") ON DELETE CASCADE,
    CONSTRAINT "uq_datafile_0" UNIQUE ("dataset_id", "name")
);

CREATE TABLE "data_collection_datafile" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT,
    "create_id" TEXT NOT NULL,
    "create_time" TEXT NOT NULL,
    "mod_id" TEXT NOT NULL,
    "mod_time" TEXT NOT NULL,
    "data_collection_id" INTEGER NOT NULL CONSTRAINT "fk_data_collection_datafile_data_collection_id" REFERENCES "data_collection" ("id") ON DELETE CASCADE,
    "datafile_id" INTEGER NOT NULL CONSTRAINT "fk_data_collection_datafile_datafile_id" REFERENCES "datafile" ("id") ON DELETE CASCADE,
    CONSTRAINT "uq_data_collection_datafile_0" UNIQUE ("data_collection_id", "datafile_id")
);

CREATE TABLE "data_collection_dataset" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT,
    "create_id" TEXT NOT NULL,
    "create_time" TEXT NOT NULL,
    "mod_id" TEXT NOT NULL,
    "mod_time" TEXT NOT NULL,
    "data_collection_id" INTEGER NOT NULL CONSTRAINT "fk_data_collection_dataset_data_collection_id" REFERENCES "data_collection" ("id") ON DELETE CASCADE,
    "dataset_id" INTEGER NOT NULL CONSTRAINT "fk_data_collection_dataset_dataset_id" REFERENCES "dataset" ("id") ON DELETE CASCADE,
    CONSTRAINT "uq_data_collection_dataset_0" UNIQUE ("data_collection_id", "dataset_id")
);

CREATE TABLE "data_collection_investigation" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT,
    "create_id" TEXT NOT NULL,
    "create_time" TEXT NOT NULL,
    "mod_id" TEXT NOT NULL,
    "mod_time" TEXT NOT NULL,
    "data_collection_id" INTEGER NOT NULL CONSTRAINT "fk_data_collection_investigation_data_collection_id" REFERENCES "data_collection" ("id") ON DELETE CASCADE,
    "investigation_id" INTEGER NOT NULL CONSTRAINT "fk_data_collection_investigation_investigation_id" REFERENCES "investigation" ("id") ON DELETE CASCADE,
    CONSTRAINT "uq_data_collection_investigation_0" UNIQUE ("data_collection_id", "investigation_id")
);

CREATE TABLE "parameter_type" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT,
    "create_id" TEXT NOT NULL,
    "create_time" TEXT NOT NULL,
    "mod_id" TEXT NOT NULL,
    "mod_time" TEXT NOT NULL,
    "applicable_to_data_collection" INTEGER NOT NULL,
    "applicable_to_datafile" INTEGER NOT NULL,
    "applicable_to_dataset" INTEGER NOT NULL,
    "applicable_to_investigation" INTEGER NOT NULL,
    "applicable_to_sample" INTEGER NOT NULL,
    "description" TEXT,
    "enforced" INTEGER NOT NULL,
    "maximum_numeric_value" REAL,
    "minimum_numeric_value" REAL,
    "name" TEXT NOT NULL,
    "pid" TEXT,
    "units" TEXT NOT NULL,
    "units_full_name" TEXT,
    "value_type" TEXT NOT NULL,
    "verified" INTEGER NOT NULL,
    "facility_id" INTEGER NOT NULL CONSTRAINT "fk_parameter_type_facility_id" REFERENCES "facility" ("id") ON DELETE CASCADE,
    CONSTRAINT "uq_parameter_type_0" UNIQUE ("facility_id", "name", "units")
);

CREATE TABLE "data_collection_parameter" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT,
    "create_id" TEXT NOT NULL,
    "create_time" TEXT NOT NULL,
    "mod_id" TEXT NOT NULL,
    "mod_time" TEXT NOT NULL,
    "date_time_value" TEXT,
    "error" REAL,
    "numeric_value" REAL,
    "range_bottom" REAL,
    "range_top" REAL,
    "string_value" TEXT,
    "data_collection_id" INTEGER NOT NULL CONSTRAINT "fk_data_collection_parameter_data_collection_id" REFERENCES "data_collection" ("id") ON DELETE CASCADE,
    "type_id" INTEGER NOT NULL CONSTRAINT "fk_data_collection_parameter_type_id" REFERENCES "parameter_type" ("id") ON DELETE CASCADE,
    CONSTRAINT "uq_data_collection_parameter_0" UNIQUE ("data_collection_id", "type_id")
);

CREATE TABLE "data_publication_date" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT,
    "create_id" TEXT NOT NULL,
    "create_time" TEXT NOT NULL,
    "mod_id" TEXT NOT NULL,
    "mod_time" TEXT NOT NULL,
    "date" TEXT NOT NULL,
    "date_type" TEXT NOT NULL,
    "publication_id" INTEGER NOT NULL CONSTRAINT "fk_data_publication_date_publication_id" REFERENCES "data_publication" ("id") ON DELETE CASCADE,
    CONSTRAINT "uq_data_publication_date_0" UNIQUE ("publication_id", "date_type")
);

CREATE TABLE "funding_reference" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT,
    "create_id" TEXT NOT NULL,
    "create_time" TEXT NOT NULL,
    "mod_id" TEXT NOT NULL,
    "mod_time" TEXT NOT NULL,
    "acknowledgement" TEXT,
    "award_number" TEXT NOT NULL,
    "award_title" TEXT,
    "funder_identifier" TEXT,
    "funder_name" TEXT NOT NULL,
    CONSTRAINT "uq_funding_reference_0" UNIQUE ("funder_name", "award_number")
);

CREATE TABLE "data_publication_funding" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT,
    "create_id" TEXT NOT NULL,
    "create_time" TEXT NOT NULL,
    "mod_id" TEXT NOT NULL,
    "mod_time" TEXT NOT NULL,
    "data_publication_id" INTEGER NOT NULL CONSTRAINT "fk_data_publication_funding_data_publication_id" REFERENCES "data_publication" ("id") ON DELETE CASCADE,
    "funding_id" INTEGER NOT NULL CONSTRAINT "fk_data_publication_funding_funding_id" REFERENCES "funding_reference" ("id") ON DELETE CASCADE,
    CONSTRAINT "uq_data_publication_funding_0" UNIQUE ("data_publication_id", "funding_id")
);

CREATE TABLE "datafile_parameter" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT,
    "create_id" TEXT NOT NULL,
    "create_time" TEXT NOT NULL,
    "mod_id" TEXT NOT NULL,
    "mod_time" TEXT NOT NULL,
    "date_time_value" TEXT,
    "error" REAL,
    "numeric_value" REAL,
    "range_bottom" REAL,
    "range_top" REAL,
    "string_value" TEXT,
    "datafile_id" INTEGER NOT NULL CONSTRAINT "fk_datafile_parameter_datafile_id" REFERENCES "datafile" ("id") ON DELETE CASCADE,
    "type_id" INTEGER NOT NULL CONSTRAINT "fk_datafile_parameter_type_id" REFERENCES "parameter_type" ("id") ON DELETE CASCADE,
    CONSTRAINT "uq_datafile_parameter_0" UNIQUE ("datafile_id", "type_id")
);

CREATE TABLE "instrument" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT,
    "create_id" TEXT NOT NULL,
    "create_time" TEXT NOT NULL,
    "mod_id" TEXT NOT NULL,
    "mod_time" TEXT NOT NULL,
    "description" TEXT,
    "end_date" TEXT,
    "full_name" TEXT,
    "name" TEXT NOT NULL,
    "pid" TEXT,
    "start_date" TEXT,
    "type" TEXT,
    "url" TEXT,
    "facility_id" INTEGER NOT NULL CONSTRAINT "fk_instrument_facility_id" REFERENCES "facility" ("id") ON DELETE CASCADE,
    CONSTRAINT "uq_instrument_0" UNIQUE ("facility_id", "name")
);

CREATE TABLE "dataset_instrument" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT,
    "create_id" TEXT NOT NULL,
    "create_time" TEXT NOT NULL,
    "mod_id" TEXT NOT NULL,
    "mod_time" TEXT NOT NULL,
    "dataset_id" INTEGER NOT NULL CONSTRAINT "fk_dataset_instrument_dataset_id" REFERENCES "dataset" ("id") ON DELETE CASCADE,
    "instrument_id" INTEGER NOT NULL CONSTRAINT "fk_dataset_instrument_instrument_id" REFERENCES "instrument" ("id") ON DELETE CASCADE,
    CONSTRAINT "uq_dataset_instrument_0" UNIQUE ("dataset_id", "instrument_id")
);

CREATE TABLE "dataset_parameter" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT,
    "create_id" TEXT NOT NULL,
    "create_time" TEXT NOT NULL,
    "mod_id" TEXT NOT NULL,
    "mod_time" TEXT NOT NULL,
    "date_time_value" TEXT,
    "error" REAL,
    "numeric_value" REAL,
    "range_bottom" REAL,
    "range_top" REAL,
    "string_value" TEXT,
    "dataset_id" INTEGER NOT NULL CONSTRAINT "fk_dataset_parameter_dataset_id" REFERENCES "dataset" ("id") ON DELETE CASCADE,
    "type_id" INTEGER NOT NULL CONSTRAINT "fk_dataset_parameter_type_id" REFERENCES "parameter_type" ("id") ON DELETE CASCADE,
    CONSTRAINT "uq_dataset_parameter_0" UNIQUE ("dataset_id", "type_id")
);

CREATE TABLE "technique" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT,
    "create_id" TEXT NOT NULL,
    "create_time" TEXT NOT NULL,
    "mod_id" TEXT NOT NULL,
    "mod_time" TEXT NOT NULL,
    "description" TEXT,
    "name" TEXT NOT NULL,
    "pid" TEXT,
    CONSTRAINT "uq_technique_0" UNIQUE ("name")
);

CREATE TABLE "dataset_technique" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT,
    "create_id" TEXT NOT NULL,
    "create_time" TEXT NOT NULL,
    "mod_id" TEXT NOT NULL,
    "mod_time" TEXT NOT NULL,
    "dataset_id" INTEGER NOT NULL CONSTRAINT "fk_dataset_technique_dataset_id" REFERENCES "dataset" ("id") ON DELETE CASCADE,
    "technique_id" INTEGER NOT NULL CONSTRAINT "fk_dataset_technique_technique_id" REFERENCES "technique" ("id") ON DELETE CASCADE,
    CONSTRAINT "uq_dataset_technique_0" UNIQUE ("dataset_id", "technique_id")
);

CREATE TABLE "facility_cycle" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT,
    "create_id" TEXT NOT NULL,
    "create_time" TEXT NOT NULL,
    "mod_id" TEXT NOT NULL,
    "mod_time" TEXT NOT NULL,
    "description" TEXT,
    "end_date" TEXT,
    "name" TEXT NOT NULL,
    "start_date" TEXT,
    "facility_id" INTEGER NOT NULL CONSTRAINT "fk_facility_cycle_facility_id" REFERENCES "facility" ("id") ON DELETE CASCADE,
    CONSTRAINT "uq_facility_cycle_0" UNIQUE ("facility_id", "name")
);

CREATE TABLE "grouping" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT,
    "create_id" TEXT NOT NULL,
    "create_time" TEXT NOT NULL,
    "mod_id" TEXT NOT NULL,
    "mod_time" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    CONSTRAINT "uq_grouping_0" UNIQUE ("name")
);

CREATE TABLE "job" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT,
    "create_id" TEXT NOT NULL,
    "create_time" TEXT NOT NULL,
    "mod_id" TEXT NOT NULL,
    "mod_time" TEXT NOT NULL,
    "arguments" TEXT,
    "application_id" INTEGER NOT NULL CONSTRAINT "fk_job_application_id" REFERENCES "application" ("id") ON DELETE CASCADE,
    "input_data_collection_id" INTEGER CONSTRAINT "fk_job_input_data_collection_id" REFERENCES "data_collection" ("id") ON DELETE CASCADE,
    "output_data_collection_id" INTEGER CONSTRAINT "fk_job_output_data_collection_id" REFERENCES "data_collection" ("id") ON DELETE CASCADE
);

CREATE TABLE "input_datafile" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT,
    "create_id" TEXT NOT NULL,
    "create_time" TEXT NOT NULL,
    "mod_id" TEXT NOT NULL,
    "mod_time" TEXT NOT NULL,
    "datafile_id" INTEGER NOT NULL CONSTRAINT "fk_input_datafile_datafile_id" REFERENCES "datafile" ("id") ON DELETE CASCADE,
    "job_id" INTEGER NOT NULL CONSTRAINT "fk_input_datafile_job_id" REFERENCES "job" ("id") ON DELETE CASCADE,
    CONSTRAINT "uq_input_datafile_0" UNIQUE ("job_id", "datafile_id")
);

CREATE TABLE "input_dataset" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT,
    "create_id" TEXT NOT NULL,
    "create_time" TEXT NOT NULL,
    "mod_id" TEXT NOT NULL,
    "mod_time" TEXT NOT NULL,
    "dataset_id" INTEGER NOT NULL CONSTRAINT "fk_input_dataset_dataset_id" REFERENCES "dataset" ("id") ON DELETE CASCADE,
    "job_id" INTEGER NOT NULL CONSTRAINT "fk_input_dataset_job_id" REFERENCES "job" ("id") ON DELETE CASCADE,
    CONSTRAINT "uq_input_dataset_0" UNIQUE ("job_id", "dataset_id")
);

CREATE TABLE "instrument_scientist" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT,
    "create_id" TEXT NOT NULL,
    "create_time" TEXT NOT NULL,
    "mod_id" TEXT NOT NULL,
    "mod_time" TEXT NOT NULL,
    "instrument_id" INTEGER NOT NULL CONSTRAINT "fk_instrument_scientist_instrument_id" REFERENCES "instrument" ("id") ON DELETE CASCADE,
    "user_id" INTEGER NOT NULL CONSTRAINT "fk_instrument_scientist_user_id" REFERENCES "user" ("id") ON DELETE CASCADE,
    CONSTRAINT "uq_instrument_scientist_0" UNIQUE ("user_id", "instrument_id")
);

CREATE TABLE "investigation_facility_cycle" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT,
    "create_id" TEXT NOT NULL,
    "create_time" TEXT NOT NULL,
    "mod_id" TEXT NOT NULL,
    "mod_time" TEXT NOT NULL,
    "facility_cycle_id" INTEGER NOT NULL CONSTRAINT "fk_investigation_facility_cycle_facility_cycle_id" REFERENCES "facility_cycle" ("id") ON DELETE CASCADE,
    "investigation_id" INTEGER NOT NULL CONSTRAINT "fk_investigation_facility_cycle_investigation_id" REFERENCES "investigation" ("id") ON DELETE CASCADE,
    CONSTRAINT "uq_investigation_facility_cycle_0" UNIQUE ("facility_cycle_id", "investigation_id")
);

CREATE TABLE "investigation_funding" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT,
    "create_id" TEXT NOT NULL,
    "create_time" TEXT NOT NULL,
    "mod_id" TEXT NOT NULL,
    "mod_time" TEXT NOT NULL,
    "funding_id" INTEGER NOT NULL CONSTRAINT "fk_investigation_funding_funding_id" REFERENCES "funding_reference" ("id") ON DELETE CASCADE,
    "investigation_id" INTEGER NOT NULL CONSTRAINT "fk_investigation_funding_investigation_id" REFERENCES "investigation" ("id") ON DELETE CASCADE,
    CONSTRAINT "uq_investigation_funding_0" UNIQUE ("investigation_id", "funding_id")
);

CREATE TABLE "investigation_group" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT,
    "create_id" TEXT NOT NULL,
    "create_time" TEXT NOT NULL,
    "mod_id" TEXT NOT NULL,
    "mod_time" TEXT NOT NULL,
    "role" TEXT NOT NULL,
    "grouping_id" INTEGER NOT NULL CONSTRAINT "fk_investigation_group_grouping_id" REFERENCES "grouping" ("id") ON DELETE CASCADE,
    "investigation_id" INTEGER NOT NULL CONSTRAINT "fk_investigation_group_investigation_id" REFERENCES "investigation" ("id") ON DELETE CASCADE,
    CONSTRAINT "uq_investigation_group_0" UNIQUE ("grouping_id", "investigation_id", "role")
);

CREATE TABLE "investigation_instrument" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT,
    "create_id" TEXT NOT NULL,
    "create_time" TEXT NOT NULL,
    "mod_id" TEXT NOT NULL,
    "mod_time" TEXT NOT NULL,
    "instrument_id" INTEGER NOT NULL CONSTRAINT "fk_investigation_instrument_instrument_id" REFERENCES "instrument" ("id") ON DELETE CASCADE,
    "investigation_id" INTEGER NOT NULL CONSTRAINT "fk_investigation_instrument_investigation_id" REFERENCES "investigation" ("id") ON DELETE CASCADE,
    CONSTRAINT "uq_investigation_instrument_0" UNIQUE ("investigation_id", "instrument_id")
);

CREATE TABLE "investigation_parameter" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT,
    "create_id" TEXT NOT NULL,
    "create_time" TEXT NOT NULL,
    "mod_id" TEXT NOT NULL,
    "mod_time" TEXT NOT NULL,
    "date_time_value" TEXT,
    "error" REAL,
    "numeric_value" REAL,
    "range_bottom" REAL,
    "range_top" REAL,
    "string_value" TEXT,
    "investigation_id" INTEGER NOT NULL CONSTRAINT "fk_investigation_parameter_investigation_id" REFERENCES "investigation" ("id") ON DELETE CASCADE,
    "type_id" INTEGER NOT NULL CONSTRAINT "fk_investigation_parameter_type_id" REFERENCES "parameter_type" ("id") ON DELETE CASCADE,
    CONSTRAINT "uq_investigation_parameter_0" UNIQUE ("investigation_id", "type_id")
);

CREATE TABLE "investigation_user" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT,
    "create_id" TEXT NOT NULL,
    "create_time" TEXT NOT NULL,
    "mod_id" TEXT NOT NULL,
    "mod_time" TEXT NOT NULL,
    "role" TEXT NOT NULL,
    "investigation_id" INTEGER NOT NULL CONSTRAINT "fk_investigation_user_investigation_id" REFERENCES "investigation" ("id") ON DELETE CASCADE,
    "user_id" INTEGER NOT NULL CONSTRAINT "fk_investigation_user_user_id" REFERENCES "user" ("id") ON DELETE CASCADE,
    CONSTRAINT "uq_investigation_user_0" UNIQUE ("user_id", "investigation_id", "role")
);

CREATE TABLE "keyword" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT,
    "create_id" TEXT NOT NULL,
    "create_time" TEXT NOT NULL,
    "mod_id" TEXT NOT NULL,
    "mod_time" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "investigation_id" INTEGER NOT NULL CONSTRAINT "fk_keyword_investigation_id" REFERENCES "investigation" ("id") ON DELETE CASCADE,
    CONSTRAINT "uq_keyword_0" UNIQUE ("name", "investigation_id")
);

CREATE TABLE "output_datafile" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT,
    "create_id" TEXT NOT NULL,
    "create_time" TEXT NOT NULL,
    "mod_id" TEXT NOT NULL,
    "mod_time" TEXT NOT NULL,
    "datafile_id" INTEGER NOT NULL CONSTRAINT "fk_output_datafile_datafile_id" REFERENCES "datafile" ("id") ON DELETE CASCADE,
    "job_id" INTEGER NOT NULL CONSTRAINT "fk_output_datafile_job_id" REFERENCES "job" ("id") ON DELETE CASCADE,
    CONSTRAINT "uq_output_datafile_0" UNIQUE ("job_id", "datafile_id")
);

CREATE TABLE "output_dataset" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT,
    "create_id" TEXT NOT NULL,
    "create_time" TEXT NOT NULL,
    "mod_id" TEXT NOT NULL,
    "mod_time" TEXT NOT NULL,
    "dataset_id" INTEGER NOT NULL CONSTRAINT "fk_output_dataset_dataset_id" REFERENCES "dataset" ("id") ON DELETE CASCADE,
    "job_id" INTEGER NOT NULL CONSTRAINT "fk_output_dataset_job_id" REFERENCES "job" ("id") ON DELETE CASCADE,
    CONSTRAINT "uq_output_dataset_0" UNIQUE ("job_id", "dataset_id")
);

CREATE TABLE "permissible_string_value" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT,
    "create_id" TEXT NOT NULL,
    "create_time" TEXT NOT NULL,
    "mod_id" TEXT NOT NULL,
    "mod_time" TEXT NOT NULL,
    "value" TEXT NOT NULL,
    "type_id" INTEGER NOT NULL CONSTRAINT "fk_permissible_string_value_type_id" REFERENCES "parameter_type" ("id") ON DELETE CASCADE,
    CONSTRAINT "uq_permissible_string_value_0" UNIQUE ("value", "type_id")
);

CREATE TABLE "public_step" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT,
    "create_id" TEXT NOT NULL,
    "create_time" TEXT NOT NULL,
    "mod_id" TEXT NOT NULL,
    "mod_time" TEXT NOT NULL,
    "field" TEXT NOT NULL,
    "origin" TEXT NOT NULL,
    CONSTRAINT "uq_public_step_0" UNIQUE ("origin", "field")
);

CREATE TABLE "publication" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT,
    "create_id" TEXT NOT NULL,
    "create_time" TEXT NOT NULL,
    "mod_id" TEXT NOT NULL,
    "mod_time" TEXT NOT NULL,
    "doi" TEXT,
    "full_reference" TEXT NOT NULL,
    "repository" TEXT,
    "repository_id" TEXT,
    "url" TEXT,
    "investigation_id" INTEGER NOT NULL CONSTRAINT "fk_publication_investigation_id" REFERENCES "investigation" ("id") ON DELETE CASCADE
);

CREATE TABLE "related_datafile" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT,
    "create_id" TEXT NOT NULL,
    "create_time" TEXT NOT NULL,
    "mod_id" TEXT NOT NULL,
    "mod_time" TEXT NOT NULL,
    "relation" TEXT NOT NULL,
    "dest_datafile_id" INTEGER NOT NULL CONSTRAINT "fk_related_datafile_dest_datafile_id" REFERENCES "datafile" ("id") ON DELETE CASCADE,
    "source_datafile_id" INTEGER NOT NULL CONSTRAINT "fk_related_datafile_source_datafile_id" REFERENCES "datafile" ("id") ON DELETE CASCADE,
    CONSTRAINT "uq_related_datafile_0" UNIQUE ("source_datafile_id", "dest_datafile_id")
);

CREATE TABLE "related_item" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT,
    "create_id" TEXT NOT NULL,
    "create_time" TEXT NOT NULL,
    "mod_id" TEXT NOT NULL,
    "mod_time" TEXT NOT NULL,
    "full_reference" TEXT,
    "identifier" TEXT NOT NULL,
    "related_item_type" TEXT,
    "relation_type" TEXT NOT NULL,
    "title" TEXT,
    "publication_id" INTEGER NOT NULL CONSTRAINT "fk_related_item_publication_id" REFERENCES "data_publication" ("id") ON DELETE CASCADE,
    CONSTRAINT "uq_related_item_0" UNIQUE ("publication_id", "identifier")
);

CREATE TABLE "rule" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT,
    "create_id" TEXT NOT NULL,
    "create_time" TEXT NOT NULL,
    "mod_id" TEXT NOT NULL,
    "mod_time" TEXT NOT NULL,
    "crud_flags" TEXT NOT NULL,
    "what" TEXT NOT NULL,
    "grouping_id" INTEGER CONSTRAINT "fk_rule_grouping_id" REFERENCES "grouping" ("id") ON DELETE CASCADE
);

CREATE TABLE "sample_parameter" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT,
    "create_id" TEXT NOT NULL,
    "create_time" TEXT NOT NULL,
    "mod_id" TEXT NOT NULL,
    "mod_time" TEXT NOT NULL,
    "date_time_value" TEXT,
    "error" REAL,
    "numeric_value" REAL,
    "range_bottom" REAL,
    "range_top" REAL,
    "string_value" TEXT,
    "sample_id" INTEGER NOT NULL CONSTRAINT "fk_sample_parameter_sample_id" REFERENCES "sample" ("id") ON DELETE CASCADE,
    "type_id" INTEGER NOT NULL CONSTRAINT "fk_sample_parameter_type_id" REFERENCES "parameter_type" ("id") ON DELETE CASCADE,
    CONSTRAINT "uq_sample_parameter_0" UNIQUE ("sample_id", "type_id")
);

CREATE TABLE "shift" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT,
    "create_id" TEXT NOT NULL,
    "create_time" TEXT NOT NULL,
    "mod_id" TEXT NOT NULL,
    "mod_time" TEXT NOT NULL,
    "comment" TEXT,
    "end_date" TEXT NOT NULL,
    "start_date" TEXT NOT NULL,
    "instrument_id" INTEGER CONSTRAINT "fk_shift_instrument_id" REFERENCES "instrument" ("id") ON DELETE CASCADE,
    "investigation_id" INTEGER NOT NULL CONSTRAINT "fk_shift_investigation_id" REFERENCES "investigation" ("id") ON DELETE CASCADE,
    CONSTRAINT "uq_shift_0" UNIQUE ("investigation_id", "start_date", "end_date")
);

CREATE TABLE "study" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT,
    "create_id" TEXT NOT NULL,
    "create_time" TEXT NOT NULL,
    "mod_id" TEXT NOT NULL,
    "mod_time" TEXT NOT NULL,
    "description" TEXT,
    "end_date" TEXT,
    "name" TEXT NOT NULL,
    "pid" TEXT,
    "start_date" TEXT,
    "status" TEXT,
    "user_id" INTEGER CONSTRAINT "fk_study_user_id" REFERENCES "user" ("id") ON DELETE CASCADE
);

CREATE TABLE "study_investigation" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT,
    "create_id" TEXT NOT NULL,
    "create_time" TEXT NOT NULL,
    "mod_id" TEXT NOT NULL,
    "mod_time" TEXT NOT NULL,
    "investigation_id" INTEGER NOT NULL CONSTRAINT "fk_study_investigation_investigation_id" REFERENCES "investigation" ("id") ON DELETE CASCADE,
    "study_id" INTEGER NOT NULL CONSTRAINT "fk_study_investigation_study_id" REFERENCES "study" ("id") ON DELETE CASCADE,
    CONSTRAINT "uq_study_investigation_0" UNIQUE ("study_id", "investigation_id")
);

CREATE TABLE "subject" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT,
    "create_id" TEXT NOT NULL,
    "create_time" TEXT NOT NULL,
    "mod_id" TEXT NOT NULL,
    "mod_time" TEXT NOT NULL,
    "classification_code" TEXT,
    "name" TEXT NOT NULL,
    "pid" TEXT,
    "scheme_uri" TEXT,
    "subject_scheme" TEXT,
    "value_uri" TEXT,
    "data_publication_id" INTEGER NOT NULL CONSTRAINT "fk_subject_data_publication_id" REFERENCES "data_publication" ("id") ON DELETE CASCADE,
    CONSTRAINT "uq_subject_0" UNIQUE ("data_publication_id", "name")
);

CREATE TABLE "user_group" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT,
    "create_id" TEXT NOT NULL,
    "create_time" TEXT NOT NULL,
    "mod_id" TEXT NOT NULL,
    "mod_time" TEXT NOT NULL,
    "grouping_id" INTEGER NOT NULL CONSTRAINT "fk_user_group_grouping_id" REFERENCES "grouping" ("id") ON DELETE CASCADE,
    "user_id" INTEGER NOT NULL CONSTRAINT "fk_user_group_user_id" REFERENCES "user" ("id") ON DELETE CASCADE,
    CONSTRAINT "uq_user_group_0" UNIQUE ("user_id", "grouping_id")
);

CREATE INDEX "ix_data_publication_content_id" ON "data_publication" ("content_id");

CREATE INDEX "ix_data_publication_type_id" ON "data_publication" ("type_id");

CREATE INDEX "ix_data_publication_user_user_id" ON "data_publication_user" ("user_id");

CREATE INDEX "ix_investigation_type_facility_id" ON "investigation_type" ("facility_id");

CREATE INDEX "ix_investigation_type_id" ON "investigation" ("type_id");

CREATE INDEX "ix_sample_type_id" ON "sample" ("type_id");

CREATE INDEX "ix_dataset_sample_id" ON "dataset" ("sample_id");

CREATE INDEX "ix_dataset_type_id" ON "dataset" ("type_id");

CREATE INDEX "ix_datafile_datafile_format_id" ON "datafile" ("datafile_format_id");

CREATE INDEX "ix_data_collection_datafile_datafile_id" ON "data_collection_datafile" ("datafile_id");

CREATE INDEX "ix_data_collection_dataset_dataset_id" ON "data_collection_dataset" ("dataset_id");

CREATE INDEX "ix_data_collection_investigation_investigation_id" ON "data_collection_investigation" ("investigation_id");

CREATE INDEX "ix_data_collection_parameter_type_id" ON "data_collection_parameter" ("type_id");

CREATE INDEX "ix_data_publication_funding_funding_id" ON "data_publication_funding" ("funding_id");

CREATE INDEX "ix_datafile_parameter_type_id" ON "datafile_parameter" ("type_id");

CREATE INDEX "ix_dataset_instrument_instrument_id" ON "dataset_instrument" ("instrument_id");

CREATE INDEX "ix_dataset_parameter_type_id" ON "dataset_parameter" ("type_id");

CREATE INDEX "ix_dataset_technique_technique_id" ON "dataset_technique" ("technique_id");

CREATE INDEX "ix_job_application_id" ON "job" ("application_id");

CREATE INDEX "ix_job_input_data_collection_id" ON "job" ("input_data_collection_id");

CREATE INDEX "ix_job_output_data_collection_id" ON "job" ("output_data_collection_id");

CREATE INDEX "ix_input_datafile_datafile_id" ON "input_datafile" ("datafile_id");

CREATE INDEX "ix_input_dataset_dataset_id" ON "input_dataset" ("dataset_id");

CREATE INDEX "ix_instrument_scientist_instrument_id" ON "instrument_scientist" ("instrument_id");

CREATE INDEX "ix_investigation_facility_cycle_investigation_id" ON "investigation_facility_cycle" ("investigation_id");

CREATE INDEX "ix_investigation_funding_funding_id" ON "investigation_funding" ("funding_id");

CREATE INDEX "ix_investigation_group_investigation_id" ON "investigation_group" ("investigation_id");

CREATE INDEX "ix_investigation_instrument_instrument_id" ON "investigation_instrument" ("instrument_id");

CREATE INDEX "ix_investigation_parameter_type_id" ON "investigation_parameter" ("type_id");

CREATE INDEX "ix_investigation_user_investigation_id" ON "investigation_user" ("investigation_id");

CREATE INDEX "ix_keyword_investigation_id" ON "keyword" ("investigation_id");

CREATE INDEX "ix_output_datafile_datafile_id" ON "output_datafile" ("datafile_id");

CREATE INDEX "ix_output_dataset_dataset_id" ON "output_dataset" ("dataset_id");

CREATE INDEX "ix_permissible_string_value_type_id" ON "permissible_string_value" ("type_id");

CREATE INDEX "ix_publication_investigation_id" ON "publication" ("investigation_id");

CREATE INDEX "ix_related_datafile_dest_datafile_id" ON "related_datafile" ("dest_datafile_id");

CREATE INDEX "ix_rule_grouping_id" ON "rule" ("grouping_id");

CREATE INDEX "ix_sample_parameter_type_id" ON "sample_parameter" ("type_id");

CREATE INDEX "ix_shift_instrument_id" ON "shift" ("instrument_id");

CREATE INDEX "ix_study_user_id" ON "study" ("user_id");

CREATE INDEX "ix_study_investigation_investigation_id" ON "study_investigation" ("investigation_id");

CREATE INDEX "ix_user_group_grouping_id" ON "user_group" ("grouping_id");

CREATE TABLE "icat_session" ("id" VARCHAR(64) PRIMARY KEY, "user_name" VARCHAR(255) NOT NULL, "expires_at" TEXT NOT NULL);

CREATE INDEX "ix_icat_session_expires_at" ON "icat_session" ("expires_at");

