"""Every table, imported once so Alembic and ``Base.metadata`` see the whole schema."""

from civicgrid.assessment.models import (  # noqa: F401
    AssessmentScheme,
    PointCursor,
    PointEntry,
    PointRule,
    ResponsibilityItem,
)
from civicgrid.audit.models import AuditEntry  # noqa: F401
from civicgrid.auth.models import ApiKey, LoginAttempt, User  # noqa: F401
from civicgrid.calendar.models import CalendarDay  # noqa: F401
from civicgrid.events.models import Attachment, Case, Category, RoutingRule  # noqa: F401
from civicgrid.mediation.models import (  # noqa: F401
    Agreement,
    Campaign,
    CampaignCommunity,
    CampaignItem,
    Dispute,
    DisputeParty,
    DisputeType,
    FollowUp,
    MediationOrg,
    MediationSession,
    Mediator,
    Obligation,
)
from civicgrid.notifications.models import Notification  # noqa: F401
from civicgrid.open311.models import Open311Submission  # noqa: F401
from civicgrid.people.models import (  # noqa: F401
    Building,
    CareRecord,
    Caretaker,
    CareType,
    CaseInvolvement,
    House,
    Household,
    ImportBatch,
    ImportRow,
    Organisation,
    Person,
    Place,
    PlaceInspection,
    ReviewItem,
    RiskColour,
    RiskRule,
    Tenancy,
    Thing,
    Visit,
)
from civicgrid.petitions.models import (  # noqa: F401
    HigherLevelVisit,
    Petition,
    Petitioner,
    PetitionLink,
    PetitionSubject,
)
from civicgrid.reference import ReferenceVersion  # noqa: F401
from civicgrid.regions.models import GridMember, Region  # noqa: F401
from civicgrid.reports.models import MonthlyReport  # noqa: F401
from civicgrid.units.models import Unit  # noqa: F401
