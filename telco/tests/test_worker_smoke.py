from django.contrib.auth.models import Group

from telco.roles import ROLES


def test_roles_are_created(roles):
    assert set(Group.objects.filter(name__in=ROLES).values_list("name", flat=True)) == set(ROLES)


def test_real_worker_answers_ping(celery_worker):
    from telco.celery import app

    replies = app.control.ping(timeout=2)
    assert any("test@" in name for reply in replies for name in reply)
