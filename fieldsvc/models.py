"""Every domain's models, imported in one place for Alembic and `create_all`."""
from .audit.models import AuditEntry  # noqa: F401
from .auth.models import ApiToken, EmployerType, PasswordResetLink, Role, User  # noqa: F401
from .certifications.models import (  # noqa: F401
    Certification,
    CertificationCategory,
    CertificationStatus,
    CertificationType,
    JobTypeRequirement,
    TrainingCourse,
    TrainingRecord,
    TrainingResult,
    TrainingSession,
)
from .metrics.models import JobRun, JobRunStatus  # noqa: F401
from .notifications.models import Notification  # noqa: F401
from .ratings.models import (  # noqa: F401
    FollowUp,
    FollowUpCause,
    FollowUpOutcome,
    FollowUpStatus,
    Praise,
    PraiseChannel,
    ReminderOptOut,
    SurveyInvitation,
    SurveyResponse,
)
from .rules.models import MetricSetting  # noqa: F401
from .snapshots.models import MetricSnapshot, PeriodType, ScopeType  # noqa: F401
from .support.knowledge import ProcedureNote, ProcedureNoteCategory, procedure_note_job_types  # noqa: F401
from .support.models import SupportReply, SupportRequest, SupportResolution, SupportStatus  # noqa: F401
from .throttle import RateLimitCounter  # noqa: F401
from .workforce.models import Customer, District, JobType, Team, team_districts, team_supervisors  # noqa: F401
from .workorders.models import (  # noqa: F401
    OPEN_STATUSES,
    IdempotencyRecord,
    OrderStatus,
    PhotoKind,
    Priority,
    UnresolvedReason,
    Visit,
    VisitOutcome,
    WorkOrder,
    WorkOrderEvent,
    WorkOrderPhoto,
)
from .workorders.standards import OrderStandard, Phase, StandardStep, StandardVersion, StepTick  # noqa: F401
