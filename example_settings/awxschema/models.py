"""Read-only ORM views of the stand-in AWX tables; the tables come from migration 0001's DDL.

Unmanaged: Django must not create or alter them, exactly as the installed app must never touch
AWX's own tables. Only the columns the examples and benchmarks read are declared.
"""

from django.db import models


class UnifiedJob(models.Model):
    created = models.DateTimeField()
    modified = models.DateTimeField()
    name = models.CharField(max_length=512)
    status = models.CharField(max_length=20)
    started = models.DateTimeField(null=True)
    finished = models.DateTimeField(null=True)

    class Meta:
        managed = False
        db_table = "main_unifiedjob"

    def __str__(self):
        return f"{self.name} ({self.status})"


class JobEvent(models.Model):
    id = models.BigAutoField(primary_key=True)
    created = models.DateTimeField(null=True)
    modified = models.DateTimeField()
    event = models.CharField(max_length=100)
    counter = models.PositiveIntegerField()
    job_id = models.IntegerField(null=True)
    job_created = models.DateTimeField()

    class Meta:
        managed = False
        db_table = "main_jobevent"

    def __str__(self):
        return f"job {self.job_id} event {self.counter}"
