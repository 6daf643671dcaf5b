from django.apps import AppConfig


class ${model}Config(AppConfig):
    name = "${app}"
    verbose_name = "${title}"
