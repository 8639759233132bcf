"""Human names of work-order statuses, in the user's language."""
from flask_babel import lazy_gettext as _l

from .models import OrderStatus

STATUS_LABELS = {
    OrderStatus.NEW: _l("new"),
    OrderStatus.ASSIGNED: _l("assigned"),
    OrderStatus.ACCEPTED: _l("accepted"),
    OrderStatus.EN_ROUTE: _l("en route"),
    OrderStatus.ON_SITE: _l("on site"),
    OrderStatus.COMPLETED: _l("completed"),
    OrderStatus.CANCELLED: _l("cancelled"),
}


def status_label(status: OrderStatus) -> str:
    """The translated name of a status."""
    return str(STATUS_LABELS[status])
