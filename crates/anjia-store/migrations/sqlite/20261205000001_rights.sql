-- anjia users' rights (issue 5 items 1 and 3: export, cancellation), SQLite flavour. Indexes only:
-- cancellation deletes an account's rows in every table in one transaction (< 200 ms) and the
-- compliance check counts the rows left for cancelled accounts; both look rows up by account.

-- Linked-login requests of an account (cancellation deletes them).
CREATE INDEX oauth_states_account ON oauth_states (account_id);
-- The tombstones of cancelled accounts (the leftover check starts from them).
CREATE INDEX accounts_cancelled ON accounts (id) WHERE status = 'cancelled';
