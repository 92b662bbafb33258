"""Every published version of a template kept (`template_versions`), and official drafts open to
platform developers.

A version row is readable wherever its template is (the policy asks connector_templates, whose
own policies then apply), and written only by the template's owner workspace or a platform admin.
Platform developers edit official templates without publishing them: `app.official_author`
admits official rows of connector_templates only (never a community one).

Templates published before this revision keep their latest version as their first kept one
(older contents were overwritten and are gone).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02
"""

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON_TYPE = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TABLE = "template_versions"
TEMPLATES = "connector_templates"
PLATFORM_ADMIN = "current_setting('app.platform_admin', true) = 'on'"
OFFICIAL_AUTHOR = "is_official AND current_setting('app.official_author', true) = 'on'"
OWNER = "t.owner_tenant_id = current_setting('app.tenant_id', true)"
VISIBLE = f"EXISTS (SELECT 1 FROM {TEMPLATES} t WHERE t.id = template_id)"
WRITABLE = f"EXISTS (SELECT 1 FROM {TEMPLATES} t WHERE t.id = template_id AND ({OWNER} OR {PLATFORM_ADMIN}))"


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("template_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("definition", JSON_TYPE, nullable=False),
        sa.Column("default_config", JSON_TYPE, nullable=False),
        sa.Column("changelog", sa.Text(), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_by", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["template_id"], [f"{TEMPLATES}.id"],
            name=op.f("fk_template_versions_template_id_connector_templates"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_template_versions")),
        sa.UniqueConstraint(
            "template_id", "version", name=op.f("uq_template_versions_template_id_version")
        ),
    )  # fmt: skip
    bind = op.get_bind()
    postgres = bind.dialect.name == "postgresql"
    if postgres:
        # The backfill reads and writes every template, as the official seeding does.
        op.execute("SELECT set_config('app.platform_admin', 'on', true)")
    templates = sa.table(
        TEMPLATES,
        sa.column("id", sa.Uuid()),
        sa.column("version", sa.Integer()),
        sa.column("published_definition", JSON_TYPE),
        sa.column("published_config", JSON_TYPE),
        sa.column("changelog", sa.Text()),
        sa.column("published_at", sa.DateTime(timezone=True)),
        sa.column("updated_by", sa.String()),
        sa.column("created_at", sa.DateTime(timezone=True)),
    )
    published = bind.execute(
        sa.select(templates).where(
            templates.c.version > 0, templates.c.published_definition.is_not(None)
        )
    ).all()
    versions = sa.table(
        TABLE,
        sa.column("id", sa.Uuid()),
        sa.column("template_id", sa.Uuid()),
        sa.column("version", sa.Integer()),
        sa.column("definition", JSON_TYPE),
        sa.column("default_config", JSON_TYPE),
        sa.column("changelog", sa.Text()),
        sa.column("published_at", sa.DateTime(timezone=True)),
        sa.column("published_by", sa.String()),
        sa.column("created_at", sa.DateTime(timezone=True)),
        sa.column("updated_at", sa.DateTime(timezone=True)),
    )
    if published:
        op.bulk_insert(
            versions,
            [
                {
                    "id": uuid.uuid4(), "template_id": row.id, "version": row.version,
                    "definition": row.published_definition,
                    "default_config": row.published_config or {},
                    "changelog": row.changelog or "",
                    "published_at": row.published_at or row.created_at,
                    "published_by": row.updated_by,
                    "created_at": row.published_at or row.created_at,
                    "updated_at": row.published_at or row.created_at,
                }
                for row in published
            ],
        )  # fmt: skip
    if postgres:
        op.execute(f"ALTER TABLE {TABLE} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {TABLE} FORCE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY visible_template ON {TABLE} FOR SELECT USING ({VISIBLE})")
        op.execute(
            f"CREATE POLICY owner_or_platform_admin ON {TABLE} "
            f"USING ({WRITABLE}) WITH CHECK ({WRITABLE})"
        )
        op.execute(
            f"CREATE POLICY official_authoring ON {TEMPLATES} "
            f"USING ({OFFICIAL_AUTHOR}) WITH CHECK ({OFFICIAL_AUTHOR})"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP POLICY official_authoring ON {TEMPLATES}")
    op.drop_table(TABLE)
