CREATE TABLE blobs (
    sha256        TEXT    NOT NULL PRIMARY KEY,
    size          INTEGER NOT NULL,
    stored_size   INTEGER NOT NULL,
    codec         TEXT    NOT NULL,
    codec_version TEXT    NOT NULL,
    created_at    INTEGER NOT NULL
);
CREATE INDEX blobs_codec ON blobs (codec);
