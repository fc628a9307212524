-- RFC 9449 section 10: a code issued for `dpop_jkt` (or from a pushed request that carried a
-- DPoP proof) is redeemed only with a proof of that key.
ALTER TABLE authorization_codes ADD COLUMN dpop_jkt TEXT;

-- OIDC Registration `id_token_signed_response_alg` (NULL: the server's signing algorithm) and
-- RFC 9101 `require_signed_request_object`.
ALTER TABLE clients ADD COLUMN id_token_signed_response_alg TEXT;
ALTER TABLE clients ADD COLUMN require_signed_request_object INTEGER NOT NULL DEFAULT 0;
