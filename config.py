"""The app's settings, at the top of the repository where a deployment looks for them.

Every setting comes from the environment (``DATABASE_URL``, ``SECRET_KEY``, ``REDIS_URL``,
``UPLOAD_FOLDER``, ``MAIL_SERVER`` …); ``AUDITAPP_ENV`` picks the class that supplies the
defaults: ``development`` (default), ``production`` or ``testing``. The classes and the
full list of variables are in ``auditapp/config.py``, inside the package, so that an
installed wheel (``pip install .``) carries them too; ``wsgi.py`` starts the app with
``config_from_env()`` from here.
"""

from auditapp.config import (
    CONFIGS,
    Config,
    DevelopmentConfig,
    ProductionConfig,
    TestingConfig,
    config_from_env,
)

__all__ = ["CONFIGS", "Config", "DevelopmentConfig", "ProductionConfig", "TestingConfig",
           "config_from_env"]
