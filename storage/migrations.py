"""Schema migrations: named, forward-only. Never edit one that has shipped; add another."""

from __future__ import annotations

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

migrations = Migrations("promptbot")


@migrations(name="0001_review_loop")
def m0001_review_loop(db: Database) -> None:
    db.executescript(
        """
        CREATE TABLE prompts (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            created_by TEXT NOT NULL,
            created_at TEXT NOT NULL,
            archived_at TEXT
        );
        CREATE TABLE versions (
            id INTEGER PRIMARY KEY,
            prompt_id INTEGER NOT NULL REFERENCES prompts(id),
            number INTEGER NOT NULL,
            template TEXT NOT NULL,
            system_prompt TEXT,
            author TEXT NOT NULL,
            note TEXT,
            created_at TEXT NOT NULL,
            UNIQUE (prompt_id, number)
        );
        CREATE TABLE runs (
            id INTEGER PRIMARY KEY,
            version_id INTEGER NOT NULL REFERENCES versions(id),
            status TEXT NOT NULL,
            channel TEXT NOT NULL,
            thread_ts TEXT,
            permalink TEXT,
            created_by TEXT NOT NULL,
            created_at TEXT NOT NULL,
            finished_at TEXT,
            models TEXT NOT NULL,
            inputs TEXT NOT NULL
        );
        CREATE INDEX runs_thread ON runs (channel, thread_ts);
        CREATE TABLE candidates (
            id INTEGER PRIMARY KEY,
            run_id INTEGER NOT NULL REFERENCES runs(id),
            label TEXT NOT NULL,
            slot INTEGER NOT NULL,
            model_name TEXT NOT NULL,
            model_id TEXT NOT NULL,
            input_index INTEGER NOT NULL,
            variables TEXT NOT NULL,
            status TEXT NOT NULL,
            output TEXT,
            error TEXT,
            tokens_in INTEGER,
            tokens_out INTEGER,
            latency_ms INTEGER,
            finish_reason TEXT,
            answered_at TEXT,
            posted_at TEXT,
            UNIQUE (run_id, label)
        );
        CREATE TABLE messages (
            channel TEXT NOT NULL,
            ts TEXT NOT NULL,
            run_id INTEGER NOT NULL REFERENCES runs(id),
            candidate_id INTEGER REFERENCES candidates(id),
            part INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (channel, ts)
        );
        CREATE TABLE reactions (
            channel TEXT NOT NULL,
            ts TEXT NOT NULL,
            user_id TEXT NOT NULL,
            emoji TEXT NOT NULL,
            candidate_id INTEGER NOT NULL REFERENCES candidates(id),
            present INTEGER NOT NULL,
            event_ts TEXT NOT NULL,
            PRIMARY KEY (channel, ts, user_id, emoji)
        );
        CREATE TABLE ratings (
            candidate_id INTEGER NOT NULL REFERENCES candidates(id),
            user_id TEXT NOT NULL,
            scale TEXT NOT NULL,
            emoji TEXT NOT NULL,
            score REAL NOT NULL,
            updated_at TEXT NOT NULL,
            PRIMARY KEY (candidate_id, user_id, scale)
        );
        CREATE TABLE comments (
            channel TEXT NOT NULL,
            ts TEXT NOT NULL,
            run_id INTEGER NOT NULL REFERENCES runs(id),
            user_id TEXT NOT NULL,
            text TEXT NOT NULL,
            created_at TEXT NOT NULL,
            PRIMARY KEY (channel, ts)
        );
        CREATE TABLE processed_events (
            event_id TEXT PRIMARY KEY,
            received_at TEXT NOT NULL
        );
        """
    )


@migrations(name="0002_reveal_and_digest")
def m0002_reveal_and_digest(db: Database) -> None:
    db.executescript(
        """
        ALTER TABLE runs ADD COLUMN closed_at TEXT;
        ALTER TABLE runs ADD COLUMN closed_by TEXT;
        ALTER TABLE runs ADD COLUMN revealed_at TEXT;
        CREATE TABLE late_ratings (
            candidate_id INTEGER NOT NULL REFERENCES candidates(id),
            user_id TEXT NOT NULL,
            scale TEXT NOT NULL,
            emoji TEXT NOT NULL,
            score REAL NOT NULL,
            updated_at TEXT NOT NULL,
            PRIMARY KEY (candidate_id, user_id, scale)
        );
        CREATE INDEX candidates_run ON candidates (run_id);
        CREATE TABLE digest_periods (
            period_key TEXT PRIMARY KEY,
            scheduled_for TEXT NOT NULL,
            status TEXT NOT NULL,
            claimed_by TEXT NOT NULL,
            claimed_at TEXT NOT NULL,
            lease_until TEXT NOT NULL,
            posted_at TEXT,
            manual INTEGER NOT NULL DEFAULT 0
        );
        CREATE TABLE digest_posts (
            period_key TEXT NOT NULL REFERENCES digest_periods(period_key),
            channel TEXT NOT NULL,
            status TEXT NOT NULL,
            ts TEXT,
            PRIMARY KEY (period_key, channel)
        );
        """
    )


@migrations(name="0003_lifecycle")
def m0003_lifecycle(db: Database) -> None:
    db.executescript(
        """
        ALTER TABLE versions ADD COLUMN parent_id INTEGER REFERENCES versions(id);
        ALTER TABLE prompts ADD COLUMN deleted_at TEXT;
        ALTER TABLE runs ADD COLUMN kind TEXT NOT NULL DEFAULT 'review';
        ALTER TABLE runs ADD COLUMN deleted_at TEXT;
        ALTER TABLE runs ADD COLUMN previous_run_id INTEGER REFERENCES runs(id);
        ALTER TABLE runs ADD COLUMN test_set TEXT;
        ALTER TABLE runs ADD COLUMN fresh INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE runs ADD COLUMN reveal_requested INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE candidates ADD COLUMN version_id INTEGER REFERENCES versions(id);
        ALTER TABLE candidates ADD COLUMN cached INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE candidates ADD COLUMN cost REAL;
        CREATE TABLE test_sets (
            prompt_id INTEGER NOT NULL REFERENCES prompts(id),
            name TEXT NOT NULL,
            rows TEXT NOT NULL,
            created_by TEXT NOT NULL,
            created_at TEXT NOT NULL,
            PRIMARY KEY (prompt_id, name)
        );
        CREATE TABLE model_cache (
            cache_key TEXT PRIMARY KEY,
            model_id TEXT NOT NULL,
            output TEXT NOT NULL,
            tokens_in INTEGER,
            tokens_out INTEGER,
            finish_reason TEXT,
            created_at TEXT NOT NULL
        );
        CREATE TABLE pairs (
            id INTEGER PRIMARY KEY,
            run_id INTEGER NOT NULL REFERENCES runs(id),
            input_index INTEGER NOT NULL,
            left_id INTEGER NOT NULL REFERENCES candidates(id),
            right_id INTEGER NOT NULL REFERENCES candidates(id),
            channel TEXT,
            ts TEXT
        );
        CREATE INDEX pairs_message ON pairs (channel, ts);
        CREATE TABLE pair_reactions (
            pair_id INTEGER NOT NULL REFERENCES pairs(id),
            user_id TEXT NOT NULL,
            emoji TEXT NOT NULL,
            present INTEGER NOT NULL,
            event_ts TEXT NOT NULL,
            PRIMARY KEY (pair_id, user_id, emoji)
        );
        CREATE TABLE pair_votes (
            pair_id INTEGER NOT NULL REFERENCES pairs(id),
            user_id TEXT NOT NULL,
            choice TEXT NOT NULL,
            late INTEGER NOT NULL DEFAULT 0,
            updated_at TEXT NOT NULL,
            PRIMARY KEY (pair_id, user_id)
        );
        CREATE TABLE audit (
            id INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            user_id TEXT NOT NULL,
            action TEXT NOT NULL,
            target TEXT NOT NULL,
            detail TEXT
        );
        CREATE TABLE reminder_optouts (
            user_id TEXT PRIMARY KEY,
            at TEXT NOT NULL
        );
        CREATE TABLE reminders_sent (
            user_id TEXT NOT NULL,
            day TEXT NOT NULL,
            runs TEXT NOT NULL,
            sent_at TEXT NOT NULL,
            PRIMARY KEY (user_id, day)
        );
        """
    )


@migrations(name="0004_hot_path_indexes")
def m0004_hot_path_indexes(db: Database) -> None:
    # Every reaction, comment and restart looks rows up by these columns; without an
    # index each lookup scans a table that grows with every rating (tests/test_query_plans.py).
    db.executescript(
        """
        CREATE INDEX IF NOT EXISTS reactions_present
            ON reactions (candidate_id, user_id) WHERE present = 1;
        CREATE INDEX IF NOT EXISTS messages_candidate ON messages (candidate_id, part);
        CREATE INDEX IF NOT EXISTS runs_status ON runs (status);
        CREATE INDEX IF NOT EXISTS pairs_run ON pairs (run_id);
        CREATE INDEX IF NOT EXISTS comments_run ON comments (run_id);
        CREATE INDEX IF NOT EXISTS candidates_version ON candidates (version_id);
        """
    )


@migrations(name="0005_install_state")
def m0005_install_state(db: Database) -> None:
    # One row: whether Slack has taken the bot's access away (uninstall, revoked token).
    db.executescript(
        """
        CREATE TABLE install_state (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            revoked_at TEXT,
            reason TEXT,
            restored_at TEXT
        );
        """
    )


@migrations(name="0006_seen_requests")
def m0006_seen_requests(db: Database) -> None:
    # Signed slash commands and interactions already acted on, so a replay inside
    # Slack's 5-minute window is answered without acting twice. Events are deduped
    # by event_id elsewhere; this is keyed by what every signed request has.
    db.executescript(
        """
        CREATE TABLE seen_requests (
            signature TEXT PRIMARY KEY,
            request_ts INTEGER NOT NULL,
            status INTEGER,
            content_type TEXT,
            body BLOB
        );
        CREATE INDEX seen_requests_expiry ON seen_requests (request_ts);
        """
    )


@migrations(name="0007_comment_files_edits_deletes")
def m0007_comment_files_edits_deletes(db: Database) -> None:
    # Thread replies with files keep the files' names, types and permalinks (JSON, no
    # download); an edit keeps the text it replaced; a deletion is a mark, not a DELETE,
    # so a late redelivery of the original reply cannot bring it back.
    db.executescript(
        """
        ALTER TABLE comments ADD COLUMN files TEXT;
        ALTER TABLE comments ADD COLUMN edited_at TEXT;
        ALTER TABLE comments ADD COLUMN edited_ts TEXT;
        ALTER TABLE comments ADD COLUMN deleted_at TEXT;
        CREATE TABLE comment_edits (
            channel TEXT NOT NULL,
            ts TEXT NOT NULL,
            text TEXT NOT NULL,
            files TEXT,
            edited_ts TEXT NOT NULL,
            replaced_at TEXT NOT NULL,
            FOREIGN KEY (channel, ts) REFERENCES comments (channel, ts)
        );
        CREATE INDEX comment_edits_comment ON comment_edits (channel, ts);
        """
    )


@migrations(name="0008_event_inbox")
def m0008_event_inbox(db: Database) -> None:
    # Every Events API delivery is written here before Slack gets its 200, and
    # processed from here in arrival order (id); processed rows are kept a day so a
    # redelivery is recognised without being processed again.
    db.executescript(
        """
        CREATE TABLE inbox (
            id INTEGER PRIMARY KEY,
            event_id TEXT NOT NULL UNIQUE,
            body TEXT NOT NULL,
            received_at TEXT NOT NULL,
            processed_at TEXT,
            error TEXT
        );
        CREATE INDEX inbox_pending ON inbox (id) WHERE processed_at IS NULL;
        """
    )


@migrations(name="0009_run_delivery")
def m0009_run_delivery(db: Database) -> None:
    """Who is running a run (a lease with an expiry), and each Slack post of a run as
    a step that can be resumed: pending, posting (outcome unknown), done or failed."""
    db.executescript(
        """
        ALTER TABLE runs ADD COLUMN lease_owner TEXT;
        ALTER TABLE runs ADD COLUMN lease_until TEXT;
        ALTER TABLE runs ADD COLUMN response_url TEXT;
        CREATE TABLE run_steps (
            run_id INTEGER NOT NULL REFERENCES runs(id),
            name TEXT NOT NULL,
            status TEXT NOT NULL,
            ts TEXT,
            error TEXT,
            updated_at TEXT NOT NULL,
            PRIMARY KEY (run_id, name)
        );
        -- The inbox's pruning of processed rows, which ran as a full scan at start-up.
        CREATE INDEX IF NOT EXISTS inbox_processed ON inbox (processed_at)
            WHERE processed_at IS NOT NULL;
        """
    )


@migrations(name="0010_inbox_prune_index")
def m0010_inbox_prune_index(db: Database) -> None:
    # The hourly prune of processed inbox rows would otherwise read the whole inbox,
    # a day of events (tests/test_query_plans.py).
    db.executescript(
        """
        CREATE INDEX IF NOT EXISTS inbox_processed
            ON inbox (processed_at) WHERE processed_at IS NOT NULL;
        """
    )


@migrations(name="0011_checks")
def m0011_checks(db: Database) -> None:
    """Checks on answers (promptfoo's ``type: value``): those a version carries (from
    the form), those of each test-set row (its ``__expected`` column), those a run took
    from its set for each input, and each answer's result per check."""
    db.executescript(
        """
        CREATE TABLE version_checks (
            version_id INTEGER PRIMARY KEY REFERENCES versions(id),
            checks TEXT NOT NULL
        );
        ALTER TABLE test_sets ADD COLUMN checks TEXT;
        CREATE TABLE run_input_checks (
            run_id INTEGER NOT NULL REFERENCES runs(id),
            input_index INTEGER NOT NULL,
            checks TEXT NOT NULL,
            PRIMARY KEY (run_id, input_index)
        );
        CREATE TABLE check_results (
            candidate_id INTEGER NOT NULL REFERENCES candidates(id),
            position INTEGER NOT NULL,
            check_text TEXT NOT NULL,
            passed INTEGER NOT NULL,
            detail TEXT NOT NULL,
            PRIMARY KEY (candidate_id, position)
        );
        """
    )


@migrations(name="0012_judge")
def m0012_judge(db: Database) -> None:
    """The LLM judge's verdicts, apart from human ratings so they can never be counted
    as votes: one per candidate (a failed one keeps its reason), one per pair of answers
    to an input (both orders' answers kept), and the runs still waiting for the judge."""
    db.executescript(
        """
        CREATE TABLE judge_verdicts (
            candidate_id INTEGER PRIMARY KEY REFERENCES candidates(id),
            model_name TEXT NOT NULL,
            approval REAL,
            stars REAL,
            reason TEXT NOT NULL DEFAULT '',
            error TEXT,
            reply TEXT,
            tokens_in INTEGER,
            tokens_out INTEGER,
            cost REAL,
            cached INTEGER NOT NULL DEFAULT 0,
            created_at TEXT NOT NULL
        );
        CREATE TABLE judge_pairs (
            run_id INTEGER NOT NULL REFERENCES runs(id),
            first_id INTEGER NOT NULL REFERENCES candidates(id),
            second_id INTEGER NOT NULL REFERENCES candidates(id),
            model_name TEXT NOT NULL,
            outcome TEXT,
            consistent INTEGER,
            forward TEXT,
            backward TEXT,
            error TEXT,
            cost REAL,
            created_at TEXT NOT NULL,
            PRIMARY KEY (first_id, second_id)
        );
        CREATE INDEX judge_pairs_run ON judge_pairs (run_id);
        CREATE TABLE judge_queue (
            run_id INTEGER PRIMARY KEY REFERENCES runs(id),
            queued_at TEXT NOT NULL
        );
        """
    )


@migrations(name="0013_screening")
def m0013_screening(db: Database) -> None:
    """Screened runs (`/prompt rerun --screen`): their candidates wait unposted until the
    judge and the checks have scored them; then each is posted for the team (with why)
    or held, and a held one is posted when someone asks."""
    db.executescript(
        """
        CREATE TABLE screened_runs (
            run_id INTEGER PRIMARY KEY REFERENCES runs(id),
            forced INTEGER NOT NULL,
            trust TEXT NOT NULL,
            decided_at TEXT,
            summary TEXT
        );
        CREATE INDEX screened_runs_undecided ON screened_runs (run_id) WHERE decided_at IS NULL;
        CREATE TABLE screened_candidates (
            candidate_id INTEGER PRIMARY KEY REFERENCES candidates(id),
            run_id INTEGER NOT NULL REFERENCES runs(id),
            posted INTEGER NOT NULL,
            reasons TEXT NOT NULL
        );
        CREATE INDEX screened_candidates_run ON screened_candidates (run_id);
        """
    )


@migrations(name="0014_reactions_clustered")
def m0014_reactions_clustered(db: Database) -> None:
    """Every reaction reads the reviewer's reactions on the candidate and writes one:
    the table is now kept in that order (WITHOUT ROWID, keyed by candidate and
    reviewer first), one B-tree where there were three (rows, the primary key's index
    and reactions_present). A message belongs to one candidate, so the key is as
    unique as (channel, ts, user_id, emoji) was. processed_events, looked up and
    written once per event by its id, keeps one B-tree instead of two the same way."""
    db.executescript(
        """
        CREATE TABLE reactions_clustered (
            candidate_id INTEGER NOT NULL REFERENCES candidates(id),
            user_id TEXT NOT NULL,
            channel TEXT NOT NULL,
            ts TEXT NOT NULL,
            emoji TEXT NOT NULL,
            present INTEGER NOT NULL,
            event_ts TEXT NOT NULL,
            PRIMARY KEY (candidate_id, user_id, channel, ts, emoji)
        ) WITHOUT ROWID;
        INSERT INTO reactions_clustered
            SELECT candidate_id, user_id, channel, ts, emoji, present, event_ts FROM reactions;
        DROP TABLE reactions;
        ALTER TABLE reactions_clustered RENAME TO reactions;
        CREATE TABLE processed_events_clustered (
            event_id TEXT PRIMARY KEY,
            received_at TEXT NOT NULL
        ) WITHOUT ROWID;
        INSERT INTO processed_events_clustered SELECT event_id, received_at FROM processed_events;
        DROP TABLE processed_events;
        ALTER TABLE processed_events_clustered RENAME TO processed_events;
        """
    )


@migrations(name="0015_runs_by_version")
def m0015_runs_by_version(db: Database) -> None:
    """One prompt's evidence (its standing in `/prompt show`, its champion for a screened
    run) and a version's runs are found from the version down, not by reading every
    run."""
    db.execute("CREATE INDEX IF NOT EXISTS runs_version ON runs (version_id)")


@migrations(name="0016_candidates_posting")
def m0016_candidates_posting(db: Database) -> None:
    """A reaction on a message nobody recorded asks whether an answer is being posted in
    its channel (the post may be the one it is on): only the few answers in flight are
    in this index, so asking costs nothing however many were posted before."""
    db.execute(
        "CREATE INDEX IF NOT EXISTS candidates_posting ON candidates (run_id)"
        " WHERE status = 'posting'"
    )


@migrations(name="0017_handled_events_by_time")
def m0017_handled_events_by_time(db: Database) -> None:
    """The ids of handled events are kept a week (promptbot/jobs/inbox.py): the hourly
    pass that forgets older ones finds them down this index rather than by reading
    every id kept (tests/test_query_plans.py)."""
    db.execute(
        "CREATE INDEX IF NOT EXISTS processed_events_received ON processed_events (received_at)"
    )
