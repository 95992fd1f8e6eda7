"""Who may use the diagnostics, as AWX decides for its own (IsSystemAdminOrAuditor)."""

from rest_framework.permissions import SAFE_METHODS, BasePermission


class IsSystemAdminOrAuditor(BasePermission):
    """Reads: superusers and system auditors. Anything else: superusers only."""

    def has_permission(self, request, view):
        user = request.user
        if not (user and user.is_authenticated):
            return False
        if request.method in SAFE_METHODS:
            return bool(user.is_superuser or getattr(user, "is_system_auditor", False))
        return bool(user.is_superuser)
