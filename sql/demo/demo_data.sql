-- Demo data for `make run`: the seed's two analytics tables as they are
-- today, MONOLITHIC (not partitioned), with 14 months of realistic-looking
-- rows ending at current_date, so that every partd capability (partitions,
-- retention, migration) has something to work on.
--
--   psql -X -v ON_ERROR_STOP=1 -f sql/demo/demo_data.sql "$DATABASE_URL"
--   psql ... -v only_if_missing=1 ...   keep the tables if both exist
--
-- Rerunning rebuilds the same data (setseed, no parallel plans) relative to
-- the day it runs. It drops the tables first, together with what partd may
-- have built from them (_new, _old, _view, rollups): this is demo data only.
-- Only set-based SQL, so it loads in a few seconds.

\set ON_ERROR_STOP on
SET client_min_messages = warning;

\if :{?only_if_missing}
SELECT pg_catalog.to_regclass('public.platform_analytics') IS NOT NULL
   AND pg_catalog.to_regclass('public.post_analytics') IS NOT NULL AS demo_present
\gset
\if :demo_present
\echo 'demo data already present; leaving it as it is'
\quit
\endif
\endif

-- random() is only reproducible when one backend draws every value in one
-- order: parallel workers would each draw their own.
SET max_parallel_workers_per_gather = 0;
SET synchronous_commit = off;
SET work_mem = '64MB';
SET maintenance_work_mem = '256MB';

BEGIN;

DROP VIEW IF EXISTS public.platform_analytics_view, public.post_analytics_view CASCADE;
DROP TABLE IF EXISTS
    public.platform_analytics, public.platform_analytics_new,
    public.platform_analytics_old, public.platform_analytics_daily,
    public.platform_analytics_monthly,
    public.post_analytics, public.post_analytics_new,
    public.post_analytics_old, public.post_analytics_daily,
    public.post_analytics_monthly
    CASCADE;

-- Indexes and keys are added after the load: building them once is much
-- faster than maintaining them row by row.
CREATE TABLE public.platform_analytics (
    id                TEXT NOT NULL,
    workspace_id      TEXT NOT NULL,
    social_account_id TEXT NOT NULL,
    date              DATE NOT NULL,
    followers         INTEGER DEFAULT 0,
    followers_change  INTEGER DEFAULT 0,
    following         INTEGER DEFAULT 0,
    impressions       INTEGER DEFAULT 0,
    reach             INTEGER DEFAULT 0,
    engagement_rate   FLOAT DEFAULT 0,
    profile_views     INTEGER DEFAULT 0,
    website_clicks    INTEGER DEFAULT 0,
    email_clicks      INTEGER DEFAULT 0,
    platform_metrics  JSONB,
    synced_at         TIMESTAMP DEFAULT NOW()
);

CREATE TABLE public.post_analytics (
    id                TEXT NOT NULL,
    post_id           TEXT NOT NULL,
    workspace_id      TEXT NOT NULL,
    social_account_id TEXT NOT NULL,
    date              DATE NOT NULL,
    impressions       INTEGER DEFAULT 0,
    reach             INTEGER DEFAULT 0,
    likes             INTEGER DEFAULT 0,
    comments          INTEGER DEFAULT 0,
    shares            INTEGER DEFAULT 0,
    saves             INTEGER DEFAULT 0,
    clicks            INTEGER DEFAULT 0,
    engagement_rate   FLOAT DEFAULT 0,
    platform_metrics  JSONB,
    synced_at         TIMESTAMP DEFAULT NOW()
);

SELECT setseed(0.4242) AS seeded \gset

-- 40 workspaces with 3 to 10 social accounts each (260 in all). Ids look
-- like Prisma's cuid(): 'c' and 24 more characters, derived from stable keys
-- so that they are the same on every run.
CREATE TEMP TABLE demo_account ON COMMIT DROP AS
SELECT w.n AS ws_no,
       a.n AS acct_no,
       'c' || substr(md5('workspace/' || w.n), 1, 24) AS workspace_id,
       'c' || substr(md5('account/' || w.n || '/' || a.n), 1, 24) AS social_account_id,
       (ARRAY['instagram', 'facebook', 'twitter', 'linkedin', 'tiktok', 'youtube'])
           [1 + (w.n * 5 + a.n) % 6] AS platform,
       -- Audience sizes spread over three orders of magnitude, like real ones.
       (200 * exp(random() * 7.5))::int AS base_followers,
       0.0004 + random() * 0.0025 AS daily_growth,   -- 1.5 % to 11 % a month
       (50 + random() * 1500)::int AS following,
       0.15 + random() * 0.6 AS impression_ratio,    -- daily impressions per follower
       0.8 + random() * 4.5 AS base_engagement,      -- percent
       random() * 6.28318 AS weekly_phase            -- each audience peaks another day
FROM generate_series(1, 40) AS w(n)
CROSS JOIN LATERAL generate_series(1, 3 + (w.n * 7) % 8) AS a(n);

-- One row per account per day. Followers are a base plus the running sum of
-- noisy daily changes (so they grow slowly, with the odd bad day), and
-- impressions follow the audience size with a weekly rhythm.
INSERT INTO public.platform_analytics
    (id, workspace_id, social_account_id, date, followers, followers_change,
     following, impressions, reach, engagement_rate, profile_views,
     website_clicks, email_clicks, platform_metrics, synced_at)
SELECT 'c' || substr(md5('pa/' || d.social_account_id || '/' || d.day), 1, 24),
       d.workspace_id,
       d.social_account_id,
       d.day,
       greatest(0, d.base_followers + sum(d.change) OVER w),
       d.change,
       d.following + d.day_no / 9,
       d.impressions,
       (d.impressions * d.reach_ratio)::int,
       d.engagement_rate,
       (d.impressions * d.reach_ratio * d.view_ratio)::int,
       (d.impressions * d.reach_ratio * d.view_ratio * d.click_ratio)::int,
       (d.impressions * d.reach_ratio * d.view_ratio * d.click_ratio * 0.08 + d.r1 * 0.9)::int,
       CASE d.platform
           WHEN 'instagram' THEN jsonb_build_object('platform', d.platform, 'stories', (d.r1 * 6)::int,
                                                    'reels_plays', (d.impressions * 0.4 * d.r2)::int)
           WHEN 'tiktok' THEN jsonb_build_object('platform', d.platform, 'video_views', (d.impressions * 0.9)::int)
           WHEN 'youtube' THEN jsonb_build_object('platform', d.platform, 'watch_time_minutes', (d.impressions * 0.05 * d.r2)::int)
           WHEN 'linkedin' THEN jsonb_build_object('platform', d.platform, 'page_views', (d.impressions * 0.03)::int)
           ELSE jsonb_build_object('platform', d.platform, 'mentions', (d.r1 * 12)::int)
       END,
       -- Synced the night after, except today's rows which are synced now.
       least(d.day + interval '1 day' + d.r2 * interval '4 hours', localtimestamp)
FROM (
    SELECT a.*,
           g.day::date AS day,
           (g.day::date - (current_date - interval '14 months')::date) AS day_no,
           -- growth with noise, an occasional unfollow wave
           round(a.base_followers * a.daily_growth * (0.2 + 1.6 * random())
                 + (random() - 0.55) * sqrt(a.base_followers) * 0.4)::int AS change,
           least(2000000000, a.base_followers * a.impression_ratio
                 * (1 + 0.3 * sin(2 * pi() * extract(isodow FROM g.day) / 7 + a.weekly_phase))
                 * exp((random() - 0.5) * 0.6))::int AS impressions,
           0.55 + random() * 0.3 AS reach_ratio,
           0.01 + random() * 0.03 AS view_ratio,
           0.04 + random() * 0.12 AS click_ratio,
           round(least(8.0, greatest(0.5, a.base_engagement * exp((random() - 0.5) * 0.5)))::numeric, 2)::float8
               AS engagement_rate,
           random() AS r1,
           random() AS r2
    FROM demo_account AS a
    CROSS JOIN generate_series((current_date - interval '14 months')::date + 1,
                               current_date, interval '1 day') AS g(day)
) AS d
WINDOW w AS (PARTITION BY d.social_account_id ORDER BY d.day);

-- Posts: each account publishes 6 to 21 posts over the 14 months; each post
-- is measured daily for 30 to 60 days after it goes out (or until today),
-- with reach decaying from its first day.
CREATE TEMP TABLE demo_post ON COMMIT DROP AS
SELECT 'c' || substr(md5('post/' || a.social_account_id || '/' || p.n), 1, 24) AS post_id,
       a.workspace_id,
       a.social_account_id,
       a.platform,
       (current_date - interval '14 months')::date + 1
           + (random() * ((current_date - (current_date - interval '14 months')::date) - 1))::int AS published,
       30 + (random() * 30)::int AS tracked_days,
       -- first-day impressions: a share of the audience, sometimes a hit
       greatest(20, a.base_followers * (0.1 + random() * 0.5) * (CASE WHEN random() < 0.05 THEN 8 ELSE 1 END))
           AS first_day_impressions,
       1.5 + random() * 6 AS decay_days,
       a.base_engagement * (0.6 + random() * 0.8) AS engagement
FROM demo_account AS a
CROSS JOIN LATERAL generate_series(1, 6 + ((a.ws_no * 13 + a.acct_no * 7) % 16)) AS p(n);

INSERT INTO public.post_analytics
    (id, post_id, workspace_id, social_account_id, date, impressions, reach,
     likes, comments, shares, saves, clicks, engagement_rate,
     platform_metrics, synced_at)
SELECT 'c' || substr(md5('pst/' || m.post_id || '/' || m.day), 1, 24),
       m.post_id,
       m.workspace_id,
       m.social_account_id,
       m.day,
       m.impressions,
       m.reach,
       m.likes,
       m.comments,
       m.shares,
       m.saves,
       m.clicks,
       CASE WHEN m.impressions = 0 THEN 0
            ELSE round(100.0 * (m.likes + m.comments + m.shares + m.saves) / m.impressions, 2)::float8
       END,
       CASE m.platform
           WHEN 'instagram' THEN jsonb_build_object('platform', m.platform, 'profile_visits', m.clicks / 2)
           WHEN 'tiktok' THEN jsonb_build_object('platform', m.platform, 'video_views', m.reach,
                                                  'avg_watch_seconds', round((3 + m.r * 20)::numeric, 1))
           WHEN 'youtube' THEN jsonb_build_object('platform', m.platform, 'views', m.reach,
                                                   'watch_time_minutes', (m.reach * (0.5 + m.r * 3))::int)
           WHEN 'twitter' THEN jsonb_build_object('platform', m.platform, 'retweets', m.shares, 'quotes', m.shares / 5)
           ELSE jsonb_build_object('platform', m.platform)
       END,
       least(m.day + interval '1 day' + m.r * interval '4 hours', localtimestamp)
FROM (
    SELECT e.*,
           (e.impressions * e.reach_ratio)::int AS reach,
           (e.impressions * e.engagement / 100 * 0.80)::int AS likes,
           (e.impressions * e.engagement / 100 * 0.08)::int AS comments,
           (e.impressions * e.engagement / 100 * 0.05)::int AS shares,
           (e.impressions * e.engagement / 100 * 0.07)::int AS saves,
           (e.impressions * (0.002 + e.r * 0.01))::int AS clicks
    FROM (
        SELECT p.post_id, p.workspace_id, p.social_account_id, p.platform,
               p.published + k.n AS day,
               least(2000000000, p.first_day_impressions * exp(-k.n / p.decay_days)
                     * exp((random() - 0.5) * 0.4) + random() * 3)::int AS impressions,
               0.6 + random() * 0.25 AS reach_ratio,
               p.engagement * exp((random() - 0.5) * 0.3) AS engagement,
               random() AS r
        FROM demo_post AS p
        CROSS JOIN LATERAL generate_series(0, p.tracked_days - 1) AS k(n)
        WHERE p.published + k.n <= current_date
    ) AS e
) AS m;

ALTER TABLE public.platform_analytics
    ADD CONSTRAINT platform_analytics_pkey PRIMARY KEY (id),
    ADD CONSTRAINT platform_analytics_social_account_id_date_key UNIQUE (social_account_id, date);
CREATE INDEX platform_analytics_workspace_id_date_idx
    ON public.platform_analytics (workspace_id, date);
CREATE INDEX platform_analytics_social_account_id_date_idx
    ON public.platform_analytics (social_account_id, date);

ALTER TABLE public.post_analytics
    ADD CONSTRAINT post_analytics_pkey PRIMARY KEY (id),
    ADD CONSTRAINT post_analytics_post_id_date_key UNIQUE (post_id, date);
CREATE INDEX post_analytics_workspace_id_date_idx
    ON public.post_analytics (workspace_id, date);
CREATE INDEX post_analytics_post_id_date_idx
    ON public.post_analytics (post_id, date);

COMMIT;

ANALYZE public.platform_analytics;
ANALYZE public.post_analytics;
