CREATE TABLE blobs (
    sha256        CHAR(64)    CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    size          BIGINT      NOT NULL,
    stored_size   BIGINT      NOT NULL,
    codec         VARCHAR(32) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    codec_version VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    created_at    BIGINT      NOT NULL,
    PRIMARY KEY (sha256),
    KEY blobs_codec (codec)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
