-- Named leases: work that must happen once across nodes (key rotation) takes one first.
CREATE TABLE leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    until BIGINT NOT NULL
);
