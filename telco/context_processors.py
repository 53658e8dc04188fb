from telco.roles import user_roles


def roles(request):
    """Expose the user's roles to templates, so navigation shows what the role may use."""
    return {"user_roles": user_roles(getattr(request, "user", None))}
