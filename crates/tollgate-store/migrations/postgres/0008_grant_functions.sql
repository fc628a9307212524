-- The grant hot path in one round trip each. A function runs as one statement, in the
-- caller's transaction (autocommit: its own), and each statement inside takes a fresh
-- snapshot, so it sees what a concurrent transaction committed while it waited for a lock.

-- Refresh rotation (see refresh.rs for the rules). TRUE: the successor is stored; FALSE: a
-- reuse, and the family is revoked. The UPDATE takes the token's row lock first, so
-- concurrent uses of one token, on any node, run one after another.
CREATE FUNCTION tollgate_rotate_refresh(
    p_old TEXT, p_next TEXT, p_family TEXT, p_created BIGINT, p_expires BIGINT,
    p_used BIGINT, p_at BIGINT, p_grace BIGINT
) RETURNS BOOLEAN LANGUAGE plpgsql AS $$
DECLARE
    v_first_use BIGINT;
    v_retired BIGINT;
    v_used_children BIGINT;
    v_revoked BIGINT;
BEGIN
    UPDATE refresh_tokens SET used_at = COALESCE(used_at, p_at) WHERE digest = p_old
        RETURNING used_at, retired_at INTO v_first_use, v_retired;
    SELECT COUNT(*) INTO v_used_children FROM refresh_tokens
        WHERE parent = p_old AND used_at IS NOT NULL;
    SELECT revoked_at INTO STRICT v_revoked FROM refresh_families WHERE id = p_family;
    IF v_revoked IS NOT NULL OR v_retired IS NOT NULL
        OR p_at - COALESCE(v_first_use, p_at) > p_grace OR v_used_children > 0 THEN
        UPDATE refresh_families SET revoked_at = p_at WHERE id = p_family AND revoked_at IS NULL;
        RETURN FALSE;
    END IF;
    -- A repeat inside the window: the earlier successor is retired, one branch lives on.
    UPDATE refresh_tokens SET retired_at = p_at WHERE parent = p_old AND retired_at IS NULL;
    INSERT INTO refresh_tokens (digest, family_id, created_at, expires_at, used_at, parent)
        VALUES (p_next, p_family, p_created, p_expires, p_used, p_old);
    RETURN TRUE;
END
$$;

-- Code redemption: marks the code used with what it is about to issue and returns the row;
-- when it was used before, returns the row as the first redemption left it.
CREATE FUNCTION tollgate_redeem_code(
    p_digest TEXT, p_at BIGINT, p_family TEXT, p_jti TEXT, p_expires BIGINT
) RETURNS SETOF authorization_codes LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY UPDATE authorization_codes SET used_at = p_at, family_id = p_family,
        access_jti = p_jti, access_expires_at = p_expires
        WHERE digest = p_digest AND used_at IS NULL RETURNING *;
    IF NOT FOUND THEN
        RETURN QUERY SELECT * FROM authorization_codes WHERE digest = p_digest;
    END IF;
END
$$;

-- Group commit: the grant writes queued on one node (rotations, redemptions, new families,
-- spent assertion and proof jtis) run in one statement and commit together, one WAL flush for
-- all of them. A job that fails fails the statement, so nothing of the batch is written; the
-- caller then runs each job of it alone (pg_batch.rs), and only the failing one fails. (A
-- subtransaction per job would do the same inside, at a fifth more of the database's time
-- for every job.) Lists arrive as the JSON text they are stored as.
CREATE FUNCTION tollgate_grant_batch(p_jobs JSON)
RETURNS TABLE (n INT, outcome TEXT, detail TEXT) LANGUAGE plpgsql AS $$
DECLARE
    j JSON;
    i INT := 0;
    v_code authorization_codes;
    v_rows BIGINT;
BEGIN
    FOR j IN SELECT * FROM json_array_elements(p_jobs) LOOP
        n := i;
        i := i + 1;
        detail := NULL;
        CASE j->>'kind'
        WHEN 'rotate' THEN
            outcome := CASE WHEN tollgate_rotate_refresh(j->>'old', j->>'next', j->>'family',
                (j->>'created')::BIGINT, (j->>'expires')::BIGINT, (j->>'used')::BIGINT,
                (j->>'at')::BIGINT, (j->>'grace')::BIGINT) THEN 'rotated' ELSE 'reused' END;
        WHEN 'redeem' THEN
            SELECT * INTO v_code FROM tollgate_redeem_code(j->>'digest', (j->>'at')::BIGINT,
                j->>'family', j->>'jti', (j->>'expires')::BIGINT);
            IF FOUND THEN
                outcome := 'found';
                detail := row_to_json(v_code)::TEXT;
            ELSE
                outcome := 'unknown';
            END IF;
        WHEN 'family' THEN
            INSERT INTO refresh_families (id, client_id, user_sid, scopes, auth_time,
                created_at, revoked_at, resources, dpop_jkt)
            VALUES (j->>'id', j->>'client_id', j->>'user_sid', j->>'scopes',
                (j->>'auth_time')::BIGINT, (j->>'created_at')::BIGINT,
                (j->>'revoked_at')::BIGINT, j->>'resources', j->>'dpop_jkt');
            INSERT INTO refresh_tokens (digest, family_id, created_at, expires_at, used_at,
                parent)
            VALUES (j->>'digest', j->>'id', (j->>'token_created')::BIGINT,
                (j->>'token_expires')::BIGINT, (j->>'token_used')::BIGINT, NULL);
            outcome := 'done';
        WHEN 'once' THEN
            -- A client assertion's or DPoP proof's jti, spent until it expires.
            INSERT INTO used_jtis (jti, expires_at) VALUES (j->>'key', (j->>'expires')::BIGINT)
                ON CONFLICT (jti) DO UPDATE SET expires_at = excluded.expires_at
                WHERE used_jtis.expires_at <= (j->>'now')::BIGINT;
            GET DIAGNOSTICS v_rows = ROW_COUNT;
            outcome := CASE WHEN v_rows > 0 THEN 'fresh' ELSE 'spent' END;
        END CASE;
        RETURN NEXT;
    END LOOP;
END
$$;
